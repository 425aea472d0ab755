"""`hotline exchange …`: run the upward export now; poll and deliver the 12345 link by hand."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import click

from config.bootstrap import build_services
from config.settings import ConfigError, load_settings
from ticketing.exchange import pull
from ticketing.exchange.export import ExportProfile, load_export_profile, run_export
from ticketing.exchange.service import deliver_and_settle
from ticketing.exchange.settings import ExportSettings
from ticketing.exchange.upload import Uploader, resend_rejected, run_upload


def _services():  # type: ignore[no-untyped-def]
    try:
        return build_services(load_settings())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("exchange")
def exchange_group() -> None:
    """12345 工单对接与上报导出。"""


@exchange_group.command("export")
@click.option("--profile", default="yunguanfu", show_default=True, help="导出档案名或 YAML 文件路径")
@click.option("--to", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="输出目录（缺省为 var/exports/<档案名>）")
@click.option("--resend", is_flag=True, help="HTTP 上报：先把被拒收的批次重新置为待发")
def export_command(profile: str, folder: Path | None, resend: bool) -> None:
    """导出自上次以来变化的案件及其事件（JSON lines 与 CSV，或按 HTTP 档案分批上报；可续传）。"""
    services = _services()
    chosen = load_export_profile(profile)
    target = folder or services.settings.data_path("exports", chosen.name)

    async def work() -> dict[str, object]:
        try:
            if chosen.kind == "http":
                return await _upload(services, chosen, resend)
            report = await run_export(services.engine, await services.cases.reference(), chosen, target,
                                      datetime.now(UTC))
            return {"cases": report.cases, "events": report.events, "files": report.files, "folder": str(target)}
        finally:
            await services.engine.dispose()

    click.echo(json.dumps(asyncio.run(work()), ensure_ascii=False, indent=2))


async def _upload(services, chosen: ExportProfile, resend: bool) -> dict[str, object]:  # type: ignore[no-untyped-def]
    cfg = next((c for c in services.settings.exchange.exports.values() if c.profile == chosen.name),
               ExportSettings(profile=chosen.name))
    now = datetime.now(UTC)
    resent = await resend_rejected(services.engine, chosen.name, now) if resend else 0
    try:
        up = Uploader(services.engine, chosen, cfg, services.exchange.session(), services.exchange.wall)
        report = await run_upload(up, await services.cases.reference(), now)
    finally:
        await services.exchange.close()
    return {"batches": report.batches, "cases": report.cases, "events": report.events, "retried": report.retried,
            "rejected": report.rejected, "resent": resent, "error": report.error}


@exchange_group.command("poll")
@click.argument("system", default="12345")
def poll_command(system: str) -> None:
    """从对接平台拉取一次待办（游标续传），并投递待发消息。"""
    services = _services()

    async def work() -> dict[str, object]:
        try:
            report = await pull.poll(services.exchange, system, datetime.now(UTC))
            sent = await deliver_and_settle(services.exchange, datetime.now(UTC))
            return {"pages": report.pages, "results": report.results, "error": report.error,
                    "delivered": sent.acked, "retried": sent.retried}
        finally:
            await services.exchange.close()
            await services.engine.dispose()

    click.echo(json.dumps(asyncio.run(work()), ensure_ascii=False, indent=2))
