"""The case detail page (/case/{case_no}) with the allowed actions as forms, and revealing a phone number.

Forms post to /case/{case_no}/act/{command} with the version the user saw (optimistic locking); a stale version
is answered with the page again and the message "案件已被他人修改，请刷新".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import func, select

from core import audit
from core.accounts import User
from core.db.engine import write_transaction
from core.db.timeutil import to_db
from core.errors import DomainError, Forbidden, InvalidParameters, NotFound, RateLimited, StaleVersion
from core.privacy import REVEALS_PER_HOUR, may_reveal
from core.tables import audit_log
from ticketing.db.tables import cases
from ticketing.domain.caseno import is_case_no
from ticketing.domain.workflow import NEEDS_REASON, PERMISSIONS, Command
from ticketing.queries import ViewContext, case_view
from web.api.photos import check_photo_ids, save_photo
from web.auth import require_page_user
from web.keys import CASES, CLOCK, ENGINE
from web.pages.auth import remote_of
from web.security import safe_next
from web.templating import render

STALE_MESSAGE = "案件已被他人修改，请刷新"
UNITS = {"working_days": "工作日", "working_hours": "工作时", "emergency_hours": "紧急工作时", "calendar_hours": "小时"}


@dataclass(frozen=True, slots=True)
class ActionForm:
    """How one command is asked for on a page: which inputs, which button style."""

    command: str
    label: str
    fields: tuple[str, ...]  # reason | reason_optional | department | extension | result | confirmed | ...
    danger: bool = False
    multipart: bool = False


_FIELDS: dict[str, tuple[str, ...]] = {
    "dispatch": ("department", "reason_optional"), "request_extension": ("extension", "reason"),
    "submit_result": ("result",), "report_verified": ("confirmed", "reason_optional"),
    "rate": ("satisfaction",), "merge": ("merged_into", "reason"),
    "reassign_inspector": ("inspector", "reason_optional"), "check_pass": ("photos", "reason_optional"),
    "check_fail": ("photos", "reason"),
}
_PHOTO_COMMANDS = frozenset({"submit_result", "check_pass", "check_fail"})
_DANGER = frozenset({"invalidate", "merge", "refuse_return", "refuse_extension", "refuse_backlog",
                     "refuse_invalidation", "check_fail", "request_invalidation", "request_return"})


def action_forms(view: dict[str, Any]) -> list[ActionForm]:
    forms = []
    for action in view["allowed_actions"]:
        name = action["command"]
        fields = _FIELDS.get(name) or (("reason",) if name in NEEDS_REASON else ("reason_optional",))
        if name in NEEDS_REASON and "reason" not in fields:
            fields = (*fields, "reason")
        forms.append(ActionForm(name, action["label"], fields, name in _DANGER, name in _PHOTO_COMMANDS))
    return forms


async def _context(request: web.Request) -> ViewContext:
    service = request.app[CASES]
    return ViewContext(await service.reference(), await service.calendar(), service.clock())


def case_no_of(request: web.Request) -> str:
    case_no = request.match_info["case_no"]
    if not is_case_no(case_no):
        raise NotFound(f"案件编号 {case_no} 不存在")
    return case_no


async def load_view(request: web.Request, user: User, case_no: str) -> dict[str, Any]:
    async with request.app[ENGINE].connect() as conn:
        return await case_view(conn, case_no, user.actor, await _context(request))


async def render_case(request: web.Request, user: User, case_no: str, *, error: str | None = None,
                      status: int = 200, full_phone: str | None = None) -> web.Response:
    view = await load_view(request, user, case_no)
    ctx = await _context(request)
    photos = [p for h in view["history"] for p in (h["payload"] or {}).get("photos", []) if isinstance(p, str)]
    photos += [a["photo_id"] for a in view.get("attachments", []) if a["photo_id"]]  # fetched 12345 attachments
    masked = may_reveal(user.role) and bool(view["caller_phone"])
    return render("case/detail.html", request, {
        "title": f"案件 {case_no}", "case": view, "forms": action_forms(view), "error": error,
        "done": request.query.get("done"), "departments": sorted(ctx.reference.departments.items()),
        "units": UNITS, "photos": photos, "can_reveal": masked and full_phone is None, "full_phone": full_phone,
        "back": safe_next(request.query.get("back")) or "",
    }, status=status)


async def case_page(request: web.Request) -> web.StreamResponse:
    user = await require_page_user(request)
    return await render_case(request, user, case_no_of(request))


def _number(form: MultiDictProxy[Any], key: str) -> float | None:
    raw = str(form.get(key, "")).strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidParameters("时长应为数字") from None


async def command_params(request: web.Request, user: User, name: str,
                         form: MultiDictProxy[Any]) -> dict[str, Any]:
    """The command's parameters from the form; uploaded photos are stored first and passed by id."""
    params: dict[str, Any] = {}
    text = {k: str(form.get(k, "")).strip() for k in ("department", "notes", "unit", "merged_into", "inspector")}
    params.update({k: v for k, v in text.items() if v})
    if (value := _number(form, "value")) is not None:
        params["value"] = value
    if form.get("confirmed") in ("yes", "no"):
        params["confirmed"] = form.get("confirmed") == "yes"
    if str(form.get("satisfaction", "")) in ("1", "2", "3"):
        params["satisfaction"] = int(str(form.get("satisfaction")))
    if name in _PHOTO_COMMANDS:
        ids = [i.strip() for i in str(form.get("photo_ids", "")).split(",") if i.strip()]
        async with request.app[ENGINE].connect() as conn:
            await check_photo_ids(conn, request.match_info["case_no"], user, ids)
        for upload in form.getall("photos", []):
            if isinstance(upload, web.FileField) and upload.filename:
                ids.append((await save_photo(request.app, user, upload.file.read())).id)
        params["photos"] = ids
    return params


async def act_submit(request: web.Request) -> web.StreamResponse:
    user = await require_page_user(request)
    case_no, name = case_no_of(request), request.match_info["command"]
    if name not in PERMISSIONS:
        raise NotFound(f"未知操作：{name}")
    form = await request.post()
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        return await render_case(request, user, case_no, error="缺少案件版本号，请刷新页面后重试", status=400)
    view = await load_view(request, user, case_no)
    if name not in {a["command"] for a in view["allowed_actions"]}:  # before anything (photos) is stored
        if version != view["version"]:
            return await render_case(request, user, case_no, error=STALE_MESSAGE, status=409)
        return await render_case(request, user, case_no, error="当前状态或角色不能执行该操作", status=403)
    try:
        params = await command_params(request, user, name, form)
        reason = str(form.get("reason", "")).strip() or None
        await request.app[CASES].act(case_no, Command(name, user.actor, expected_version=version, reason=reason,
                                                      params=params))
    except StaleVersion:
        return await render_case(request, user, case_no, error=STALE_MESSAGE, status=409)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return await render_case(request, user, case_no, error=exc.message, status=exc.status)
    target = safe_next(str(form.get("next", ""))) or f"/case/{case_no}?done={name}"
    raise web.HTTPSeeOther(target)


async def reveal_phone(request: web.Request) -> web.StreamResponse:
    """Show the full caller number once, with an audit row (who, which case, from where).

    Only the roles of core/privacy.py `may_reveal`, only for a case they may read, at most REVEALS_PER_HOUR
    per user (counted in the audit log, so the limit holds across restarts and instances)."""
    user = await require_page_user(request)
    if not may_reveal(user.role):
        raise Forbidden(f"“{user.role.label}”角色不能查看完整号码")
    case_no = case_no_of(request)
    await load_view(request, user, case_no)  # the same visibility rules as the page
    now = request.app[CLOCK]()
    async with write_transaction(request.app[ENGINE]) as conn:
        recent = (await conn.execute(select(func.count()).select_from(audit_log).where(
            audit_log.c.actor == user.username, audit_log.c.action == "reveal_phone",
            audit_log.c.at >= to_db(now - timedelta(hours=1))))).scalar_one()
        if recent >= REVEALS_PER_HOUR:
            raise RateLimited(f"一小时内最多查看 {REVEALS_PER_HOUR} 个完整号码，请稍后再试")
        phone = (await conn.execute(select(cases.c.caller_phone).where(cases.c.case_no == case_no))).scalar()
        await audit.append(conn, now, user.username, "reveal_phone", case_no,
                           {"role": user.role.value}, remote_of(request))
    if "json" in request.headers.get("Accept", ""):
        return web.json_response({"case_no": case_no, "caller_phone": phone},
                                 headers={"Cache-Control": "no-store"})
    response = await render_case(request, user, case_no, full_phone=phone or "")
    response.headers["Cache-Control"] = "no-store"
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/case/{case_no}", case_page)
    app.router.add_post("/case/{case_no}/act/{command}", act_submit)
    app.router.add_post("/case/{case_no}/phone", reveal_phone)
