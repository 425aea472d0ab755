"""The `hotline` command line: serve, database, demo data, users and tokens, cases, configuration."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from config.bootstrap import build_case_service, create_app, engine_for
from config.cli_asterisk import asterisk_group
from config.cli_exchange import exchange_group
from config.cli_geo import geo_group
from config.cli_speech import models_group, transcribe_command
from config.settings import DATA_DIR, ConfigError, Settings, load_settings
from core.errors import DomainError
from ticketing.domain.model import Role

T = TypeVar("T")
DEMO_USERS = (("agent01", "受理员 01", Role.AGENT), ("agent02", "受理员 02", Role.AGENT),
              ("lead01", "值班长 01", Role.LEAD), ("dispatcher01", "派遣员 01", Role.DISPATCHER),
              ("inspector01", "监督员 01", Role.INSPECTOR), ("inspector02", "监督员 02", Role.INSPECTOR),
              ("admin", "系统管理员", Role.ADMIN))


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _run(make: Callable[[Settings], Awaitable[T]]) -> T:
    """Run one async use case with a fresh engine; domain errors become clean CLI errors."""
    settings = _settings()

    async def main() -> T:
        return await make(settings)

    try:
        return asyncio.run(main())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


def _now() -> datetime:
    return datetime.now(UTC)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="More log output.")
def main(verbose: bool) -> None:
    """12319 城市管理热线与案件平台 — hotline and case platform."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:
        for chatty in ("alembic", "apscheduler"):  # per-run INFO lines drown what operators need to see
            logging.getLogger(chatty).setLevel(logging.WARNING)


@main.command()
@click.option("--host", default=None, help="Listen address (default: settings http.host).")
@click.option("--port", type=int, default=None, help="Listen port (default: settings http.port).")
def serve(host: str | None, port: int | None) -> None:
    """Run the web service (API, consoles) and, when enabled, the telephony app."""
    import uvloop
    from aiohttp import web


    settings = _settings()
    _memory_snapshots()
    # uvloop: a faster event loop for the one process that serves API, consoles and the ARI app.
    web.run_app(create_app(settings), host=host or settings.http.host, port=port or settings.http.port,
                print=lambda text: click.echo(text, err=True), loop=uvloop.new_event_loop(), access_log=None)


def _memory_snapshots() -> None:
    """Debugging aid for memory growth (bench/load.py --tracemalloc), off by default: when
    TRACEMALLOC_SNAPSHOTS_DIR is set and tracemalloc is tracing (PYTHONTRACEMALLOC=N in the environment), a
    daemon thread writes a snapshot snap-<NNNN>.pickle (NNNN: seconds since start) there every
    TRACEMALLOC_SNAPSHOTS_EVERY_S seconds (default 60); compare two with
    `tracemalloc.Snapshot.load(b).compare_to(tracemalloc.Snapshot.load(a), "lineno")`. A thread, not a signal:
    it does not depend on the event loop, and it stops with the process. (Not HOTLINE_*: those are settings.)"""
    import threading
    import time
    import tracemalloc
    from pathlib import Path

    folder = os.environ.get("TRACEMALLOC_SNAPSHOTS_DIR")
    if not folder or not tracemalloc.is_tracing():
        return
    every = float(os.environ.get("TRACEMALLOC_SNAPSHOTS_EVERY_S", "60"))
    start = time.monotonic()

    def loop() -> None:
        while True:
            time.sleep(every)
            at = int(time.monotonic() - start)
            part = Path(folder) / f"snap-{at:04d}.part"
            tracemalloc.take_snapshot().dump(str(part))
            part.rename(part.with_suffix(".pickle"))  # whole snapshots only under the final name

    threading.Thread(target=loop, name="tracemalloc-snapshots", daemon=True).start()


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version (safe to repeat)."""
    from core.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url(), schema=settings.database.schema_name)
    click.echo(f"database at newest schema: {_safe_url(settings.database_url())}")


@db.command("seed")
def db_seed() -> None:
    """Load the reference data (categories, departments) that is missing; edited rows are kept."""
    click.echo(json.dumps(_run(_seed_reference), ensure_ascii=False))


async def _seed_reference(settings: Settings) -> dict[str, int]:
    from ticketing.reference import seed_reference

    engine = engine_for(settings)
    try:
        async with engine.begin() as conn:
            return await seed_reference(conn, DATA_DIR)
    finally:
        await engine.dispose()


@main.group()
def demo() -> None:
    """Demo data for Haiyan County (marked as demo data)."""


@demo.command("seed")
@click.option("--password", envvar="HOTLINE_DEMO_PASSWORD", default=None,
              help="Password for the demo users (default: generated once and kept in var/demo-password).")
def demo_seed(password: str | None) -> None:
    """Migrate, load reference data, the Haiyan demo grid, and one demo user per role and department."""
    from core.db.migrate import upgrade

    settings = _settings()
    if not settings.security.demo_mode:
        raise click.ClickException("演示数据只能在演示模式下载入（security.demo_mode: true，或环境变量 "
                                   "HOTLINE_SECURITY__DEMO_MODE=true）：演示账号共用一个密码，不能出现在正式站点")
    upgrade(settings.database_url(), schema=settings.database.schema_name)
    password = password or _demo_password(settings)
    added = _run(lambda s: _seed_demo(s, password))
    click.echo(json.dumps(added, ensure_ascii=False))
    click.echo(f"demo users: {', '.join(u for u, _, _ in DEMO_USERS)}, dept-<code>; "
               f"password in {settings.data_path('demo-password')}")


def _demo_password(settings: Settings) -> str:
    path = settings.data_path("demo-password")
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = "demo-" + secrets.token_urlsafe(9)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


async def _seed_demo(settings: Settings, password: str) -> dict[str, Any]:
    from core import accounts
    from ticketing.reference import department_rows, seed_reference

    engine = engine_for(settings)
    try:
        async with engine.begin() as conn:
            added: dict[str, Any] = await seed_reference(conn, DATA_DIR)
            users = [(u, n, r, None) for u, n, r in DEMO_USERS]
            departments = department_rows(DATA_DIR / "departments.yaml")
            users += [(f"dept-{d['code']}", d["name"], Role.DEPARTMENT, d["code"]) for d in departments]
            count = 0
            for username, name, role, dept in users:
                try:
                    await accounts.get_user(conn, username)
                except DomainError:
                    await accounts.add_user(conn, username=username, display_name=name, role=role, now=_now(),
                                            password=password, department_code=dept)
                    count += 1
            added["users"] = count
        from ticketing.demo_cases import seed_demo_cases
        from ticketing.geo.demo import seed_demo

        added["geo"] = await seed_demo(engine)
        from web.inspector_demo import demo_check_photo

        photo = await demo_check_photo(settings, engine, _now)
        added["cases"] = await seed_demo_cases(build_case_service(engine, settings), photo)
        return added
    finally:
        await engine.dispose()


@main.group()
def user() -> None:
    """Users and roles."""


@user.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role if r is not Role.SYSTEM] + ["system"]))
@click.option("--name", "display_name", default=None, help="Display name (default: the username).")
@click.option("--department", default=None, help="Department code (department users only).")
@click.option("--extension", default=None, help="Softphone extension (agents).")
@click.option("--password", default=None, help="Password; prompted if omitted (not for system users).")
def user_add(username: str, role: str, display_name: str | None, department: str | None,
             extension: str | None, password: str | None) -> None:
    """Add a user with one role."""
    from core import accounts

    if role != "system" and password is None:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)

    async def add(settings: Settings) -> None:
        engine = engine_for(settings)
        try:
            async with engine.begin() as conn:
                await accounts.add_user(conn, username=username, display_name=display_name or username,
                                        role=Role(role), now=_now(), password=password,
                                        department_code=department, extension=extension)
        finally:
            await engine.dispose()

    _run(add)
    click.echo(f"user {username} ({Role(role).label}) added")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.argument("username")
@click.option("--days", type=int, default=None, help="Validity in days (default: settings).")
@click.option("--label", default=None)
def token_create(username: str, days: int | None, label: str | None) -> None:
    """Print a new bearer token for USERNAME (shown once; only its hash is stored)."""
    from core import accounts

    async def create(settings: Settings) -> str:
        engine = engine_for(settings)
        try:
            async with engine.begin() as conn:
                return await accounts.create_token(conn, username, _now(),
                                                   days=days or settings.security.token_ttl_days, label=label)
        finally:
            await engine.dispose()

    click.echo(_run(create))


@token.command("list")
@click.argument("username", required=False)
def token_list(username: str | None) -> None:
    """List API tokens (all, or USERNAME's): id, user, label, expiry, state. Token values are never stored."""
    from core import accounts

    async def listed(settings: Settings) -> list[dict[str, Any]]:
        engine = engine_for(settings)
        try:
            async with engine.connect() as conn:
                return await accounts.list_tokens(conn, _now(), username)
        finally:
            await engine.dispose()

    for row in _run(listed):
        state = "revoked" if row["revoked_at"] else ("active" if row["active"] else "expired")
        expires = row["expires_at"].isoformat(timespec="minutes") if row["expires_at"] else "-"
        click.echo(f"{row['id']}\t{row['username']}\t{state}\t{expires}\t{row['label'] or ''}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke the API token TOKEN_ID (see `hotline token list`)."""
    from core import accounts, audit

    async def revoke(settings: Settings) -> bool:
        engine = engine_for(settings)
        try:
            async with engine.begin() as conn:
                done = await accounts.revoke_token(conn, token_id, _now())
                if done:
                    await audit.append(conn, _now(), "cli", "token_revoked", str(token_id), {})
                return done
        finally:
            await engine.dispose()

    if not _run(revoke):
        raise click.ClickException(f"没有有效的令牌 {token_id}")
    click.echo(f"token {token_id} revoked")


def _set_active(username: str, active: bool) -> None:
    from core import accounts, audit
    from web.sessions import revoke_user_sessions

    async def change(settings: Settings) -> None:
        engine = engine_for(settings)
        try:
            async with engine.begin() as conn:
                user = await accounts.set_active(conn, username, active)
                if not active:
                    await revoke_user_sessions(conn, user.id, _now())
                    await accounts.revoke_user_tokens(conn, user.id, _now())
                await audit.append(conn, _now(), "cli", "user_activated" if active else "user_deactivated",
                                   username, {})
        finally:
            await engine.dispose()

    _run(change)


@user.command("deactivate")
@click.argument("username")
def user_deactivate(username: str) -> None:
    """Deactivate USERNAME: no more logins; its sessions and API tokens end now."""
    _set_active(username, False)
    click.echo(f"user {username} deactivated; sessions and tokens revoked")


@user.command("activate")
@click.argument("username")
def user_activate(username: str) -> None:
    """Activate USERNAME again (new tokens must be created)."""
    _set_active(username, True)
    click.echo(f"user {username} activated")


@main.group()
def evaluation() -> None:
    """综合评价 (evaluation)."""


@evaluation.command("rebuild")
def evaluation_rebuild() -> None:
    """Recompute the evaluation's summary rows of every case from the history (derived data; safe to repeat)."""
    click.echo(json.dumps(_run(_rebuild_evaluation), ensure_ascii=False))


async def _rebuild_evaluation(settings: Settings) -> dict[str, int]:
    from core.db.engine import write_transaction
    from ticketing.evaluation.facts import rebuild

    engine = engine_for(settings)
    try:
        async with write_transaction(engine) as conn:
            return await rebuild(conn)
    finally:
        await engine.dispose()


@main.group()
def case() -> None:
    """Cases."""


@case.command("show")
@click.argument("case_no")
def case_show(case_no: str) -> None:
    """Print a case with its deadlines and history as JSON."""
    from ticketing.domain.model import Actor
    from ticketing.queries import ViewContext, case_view

    async def show(settings: Settings) -> dict[str, Any]:
        engine = engine_for(settings)
        try:
            service = build_case_service(engine, settings)
            ctx = ViewContext(await service.reference(), await service.calendar(), _now())
            async with engine.connect() as conn:
                return await case_view(conn, case_no, Actor("cli", Role.SYSTEM), ctx)
        finally:
            await engine.dispose()

    click.echo(json.dumps(_run(show), ensure_ascii=False, indent=2))


@main.group()
def calendar() -> None:
    """Working calendar: official holidays and make-up working days for years the package lacks."""


@calendar.command("set")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("kind", type=click.Choice(["holiday", "workday", "clear"]))
@click.option("--name", default=None, help="e.g. 春节")
def calendar_set(day: datetime, kind: str, name: str | None) -> None:
    """Mark DAY as a holiday (放假) or a make-up working day (调休上班), or clear the entry."""
    from sqlalchemy import delete

    from ticketing.db.tables import calendar_days

    async def save(settings: Settings) -> None:
        engine = engine_for(settings)
        try:
            async with engine.begin() as conn:
                await conn.execute(delete(calendar_days).where(calendar_days.c.day == day.date()))
                if kind != "clear":
                    await conn.execute(calendar_days.insert().values(day=day.date(), kind=kind, name=name,
                                                                     entered_by="cli"))
        finally:
            await engine.dispose()

    _run(save)
    click.echo(f"{day.date()}: {kind}")


@main.group("config")
def config_group() -> None:
    """Configuration."""


@config_group.command("check")
def config_check() -> None:
    """Load and validate the settings; print them (secrets hidden) or the problems found."""
    settings = _settings()
    data = settings.model_dump(mode="json")
    data["database"]["url"] = _safe_url(settings.database_url())
    if data["telephony"].get("trunk_registration"):
        data["telephony"]["trunk_registration"]["password"] = "***"
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    for warning in settings.telephony.exposure_warnings():
        click.echo(f"警告：{warning}", err=True)
    click.echo("configuration OK", err=True)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


for command in (asterisk_group, models_group, transcribe_command, geo_group, exchange_group):
    main.add_command(command)

if __name__ == "__main__":
    sys.exit(main())

