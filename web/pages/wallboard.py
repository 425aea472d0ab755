"""The command-centre wallboard (监督指挥, /wallboard) and its figures (/api/v1/wallboard/summary)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from callcenter.acd.stats import answered_within, summarize
from callcenter.call_queries import calls_since, queue_call
from core.db.timeutil import to_db
from ticketing.db.tables import cases
from ticketing.domain.model import Role, State
from web.api.calls import masked_snapshot
from web.auth import require_page_user, require_user
from web.json import json_response
from web.keys import CASES, ENGINE, RUNNING
from web.openapi import add_routes, operation
from web.templating import register_nav, render, setup_templating

WALLBOARD_ROLES = (Role.LEAD, Role.DISPATCHER, Role.ADMIN)
ANSWER_TARGET_S = 15


def call_figures(rows: list[dict[str, Any]], target_s: int = ANSWER_TARGET_S) -> dict[str, Any]:
    """Today's call figures from call records (pure); the queue's figures are callcenter/acd/stats.py's."""
    queued = [r for r in map(queue_call, rows) if r is not None]
    stats = summarize(queued, target_s)
    return {"total": len(rows), "answered": sum(1 for r in rows if r["answered_at"] is not None),
            "answered_within_target": answered_within(queued, target_s), "target_s": target_s,
            "offered": stats.offered, "abandoned": stats.abandoned,
            "service_level": None if stats.service_level is None else round(100 * stats.service_level)}


def queue_figures(snapshot: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    if snapshot is None:
        return {"enabled": False, "waiting": 0, "longest_wait_s": 0, "calls": [], "agents": [], "ready": 0}
    waiting = snapshot["waiting"]
    waits = [(now - datetime.fromisoformat(c["arrived_at"])).total_seconds() for c in waiting]
    return {"enabled": True, "waiting": len(waiting), "longest_wait_s": round(max(waits, default=0)),
            "calls": waiting, "agents": snapshot["agents"], "ready": snapshot["ready"]}


async def summary(app: web.Application, role: Role | str) -> dict[str, Any]:
    service = app[CASES]
    now = service.clock()
    tz = (await service.calendar()).tz
    day_start = datetime.combine(now.astimezone(tz).date(), time(0), tz).astimezone(UTC)
    rows = await calls_since(app[ENGINE], day_start)
    async with app[ENGINE].connect() as conn:
        today = (await conn.execute(select(cases.c.state, func.count()).where(
            cases.c.created_at >= to_db(day_start)).group_by(cases.c.state))).all()
        open_now = (await conn.execute(select(cases.c.state, func.count()).where(
            cases.c.state.notin_((State.CLOSED.value, State.INVALID.value))).group_by(cases.c.state))).all()
    control = app[RUNNING].call_control
    trunk = app[RUNNING].trunk
    by_state = Counter({s: n for s, n in today})
    snapshot = masked_snapshot(role, control.snapshot()) if control else None
    return {
        "now": now.isoformat(), "queue": queue_figures(snapshot, now),
        "calls": call_figures(rows),
        "trunk": trunk.status() if trunk is not None else {"monitored": False, "state": "unknown", "label": "未监测",
                                                            "since": None, "registration": False},
        "cases_today": [{"state": s.value, "label": s.label, "count": by_state.get(s.value, 0)} for s in State],
        "cases_today_total": sum(by_state.values()),
        "open": [{"state": s, "label": State(s).label, "count": n} for s, n in sorted(open_now)],
    }


@operation("GET", "/api/v1/wallboard/summary", summary="监督指挥大屏数据（排队、坐席、今日话务与案件）",
           tag="console", roles=tuple(r.value for r in WALLBOARD_ROLES))
async def get_summary(request: web.Request) -> web.Response:
    user = await require_user(request, *WALLBOARD_ROLES)
    return json_response(await summary(request.app, user.role), headers={"Cache-Control": "no-store"})


async def wallboard_page(request: web.Request) -> web.Response:
    await require_page_user(request, *WALLBOARD_ROLES)
    return render("wallboard.html", request, {"title": "监督指挥", "answer_target_s": ANSWER_TARGET_S,
                                              "refresh_s": int(timedelta(seconds=30).total_seconds())})


def setup(app: web.Application) -> None:
    setup_templating(app)
    register_nav(app, "监督指挥", "/wallboard", WALLBOARD_ROLES, order=20)
    app.router.add_get("/wallboard", wallboard_page, name="wallboard")
    add_routes(app, get_summary)
