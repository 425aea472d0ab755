"""Shift lead and dispatcher inboxes (/lead): cases waiting for 立案 and 派遣, and pending approvals."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.timeutil import from_db
from ticketing.db.tables import case_requests, cases
from ticketing.domain.model import RequestKind, Role
from ticketing.queries import CaseFilter, ViewContext, iso, list_cases
from web.auth import require_page_user
from web.keys import CASES, ENGINE
from web.templating import render

LEAD_ROLES = (Role.LEAD, Role.DISPATCHER)
APPROVAL_KINDS = (RequestKind.EXTENSION, RequestKind.RETURN, RequestKind.BACKLOG, RequestKind.INVALIDATION)
INBOX_SIZE = 100


async def pending_requests(conn: AsyncConnection, ctx: ViewContext) -> list[dict[str, Any]]:
    """Pending 延期/回退/挂账/作废 requests, oldest first, with their case's essentials."""
    rows = (await conn.execute(
        select(case_requests, cases.c.case_no, cases.c.category_code, cases.c.address, cases.c.department_code,
               cases.c.description)
        .join(cases, cases.c.id == case_requests.c.case_id)
        .where(case_requests.c.state == "pending", case_requests.c.kind.in_([k.value for k in APPROVAL_KINDS]))
        .order_by(case_requests.c.requested_at, case_requests.c.id).limit(INBOX_SIZE))).mappings().all()
    out = []
    for r in rows:
        category = ctx.reference.categories.get(r["category_code"])
        out.append({
            "case_no": r["case_no"], "kind": r["kind"], "label": RequestKind(r["kind"]).label,
            "requested_by": r["requested_by"], "requested_at": iso(from_db(r["requested_at"]), ctx.calendar),
            "reason": r["reason"], "payload": r["payload"] or {}, "address": r["address"],
            "category": category.name if category else r["category_code"], "description": r["description"],
            "department": ctx.reference.departments.get(r["department_code"] or "", r["department_code"]),
        })
    return out


async def inbox(request: web.Request) -> web.StreamResponse:
    user = await require_page_user(request, *LEAD_ROLES)
    service = request.app[CASES]
    ctx = ViewContext(await service.reference(), await service.calendar(), service.clock())
    async with request.app[ENGINE].connect() as conn:
        to_register = await list_cases(conn, CaseFilter(state=("accepted",), per_page=INBOX_SIZE), user.actor, ctx)
        to_dispatch = await list_cases(conn, CaseFilter(state=("registered",), per_page=INBOX_SIZE), user.actor, ctx)
        approvals = await pending_requests(conn, ctx)
        # 结案 is the lead's: handled cases (result reported, checked on site or not yet) wait for it.
        to_close = (await list_cases(conn, CaseFilter(state=("handled",), per_page=INBOX_SIZE), user.actor, ctx)
                    if user.role is Role.LEAD else None)
    return render("lead/inbox.html", request, {
        "title": "待办", "to_register": to_register, "to_dispatch": to_dispatch, "approvals": approvals,
        "to_close": to_close,
        "focus": "dispatch" if user.role is Role.DISPATCHER else "register",
        "units": {"working_days": "工作日", "working_hours": "工作时", "emergency_hours": "紧急工作时",
                  "calendar_hours": "小时"},
    })


def setup(app: web.Application) -> None:
    app.router.add_get("/lead", inbox)
