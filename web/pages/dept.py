"""The department portal (/dept): the department's own work orders with deadlines and traffic lights.

Work on one order happens on the shared case page (/case/{case_no}), which offers 签收, 回退, 延期, 挂账 and
处置反馈 (with photos) to the department that holds the case; both pages are laid out for phones.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.timeutil import from_db
from ticketing.db.tables import case_history, case_stages, cases
from ticketing.domain.model import Role
from ticketing.queries import CaseFilter, ViewContext, iso, list_cases
from web.auth import require_page_user
from web.keys import CASES, ENGINE
from web.templating import render

TABS = {"open": ("待处理", ("dispatched",)), "backlog": ("挂账", ("backlog",)),
        "done": ("已反馈", ("handled", "closed"))}
# The latest of these decides whether the department has signed for the current round of work.
_ROUND = ("dispatch", "acknowledge", "check_fail", "reopen", "resume")


async def order_facts(conn: AsyncConnection, case_nos: list[str], ctx: ViewContext) -> dict[str, dict[str, Any]]:
    """Per case: the open handling deadline and whether the current round is signed for (签收)."""
    if not case_nos:
        return {}
    stages = (await conn.execute(
        select(cases.c.case_no, case_stages.c.due_at)
        .join(case_stages, case_stages.c.case_id == cases.c.id)
        .where(cases.c.case_no.in_(case_nos), case_stages.c.stage == "handling",
               case_stages.c.finished_at.is_(None)))).all()
    history = (await conn.execute(
        select(cases.c.case_no, case_history.c.command)
        .join(case_history, case_history.c.case_id == cases.c.id)
        .where(cases.c.case_no.in_(case_nos), case_history.c.command.in_(_ROUND))
        .order_by(case_history.c.id))).all()
    facts: dict[str, dict[str, Any]] = {no: {"due_at": None, "acknowledged": False} for no in case_nos}
    for no, due in stages:
        facts[no]["due_at"] = iso(from_db(due), ctx.calendar)
    for no, command in history:
        facts[no]["acknowledged"] = command == "acknowledge"
    return facts


async def orders(request: web.Request) -> web.StreamResponse:
    user = await require_page_user(request, Role.DEPARTMENT)
    tab = request.query.get("tab", "open")
    if tab not in TABS:
        tab = "open"
    service = request.app[CASES]
    ctx = ViewContext(await service.reference(), await service.calendar(), service.clock())
    page = max(1, int(request.query["page"])) if request.query.get("page", "").isdigit() else 1
    async with request.app[ENGINE].connect() as conn:
        # list_cases itself restricts department users to their own department's cases.
        found = await list_cases(conn, CaseFilter(state=TABS[tab][1], page=page, per_page=50), user.actor, ctx)
        facts = await order_facts(conn, [c["case_no"] for c in found["items"]], ctx)
        counts = {key: (await list_cases(conn, CaseFilter(state=states, per_page=1), user.actor, ctx))["total"]
                  for key, (_, states) in TABS.items()}
    return render("dept/orders.html", request, {
        "title": "部门工单", "tab": tab, "tabs": {k: v[0] for k, v in TABS.items()}, "counts": counts,
        "orders": found, "facts": facts, "page": page,
        "department": ctx.reference.departments.get(user.department_code or "", user.department_code),
    })


def setup(app: web.Application) -> None:
    app.router.add_get("/dept", orders)
