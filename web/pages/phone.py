"""Softphone provisioning: each agent's own SIP account with a QR code (/console/phone); the administrator
rotates an extension's password (/admin/phones)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from callcenter.provisioning import sip_account
from callcenter.rig import process
from callcenter.rig.build import RigError
from callcenter.rig.confgen import rotate_agent_password
from core import audit
from core.db.engine import write_transaction
from core.tables import users
from ticketing.domain.model import Role
from web.auth import require_page_user
from web.keys import CLOCK, ENGINE, SETTINGS
from web.pages.auth import remote_of
from web.templating import register_nav, render

PHONE_ROLES = (Role.AGENT, Role.LEAD)


async def my_phone(request: web.Request) -> web.Response:
    user = await require_page_user(request, *PHONE_ROLES)
    tel = request.app[SETTINGS].telephony
    account = sip_account(tel, user.extension) if user.extension else None
    return render("phone.html", request, {
        "title": "我的话机", "account": account, "qr": account.qr_svg() if account else None,
        "extension": user.extension})


async def phones_page(request: web.Request, *, notice: str | None = None, error: str | None = None,
                      status: int = 200) -> web.Response:
    await require_page_user(request, Role.ADMIN)
    tel = request.app[SETTINGS].telephony
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(users.c.extension, users.c.username, users.c.display_name)
                                   .where(users.c.extension.is_not(None)))).all()
    owners = {r.extension: f"{r.display_name}（{r.username}）" for r in rows}
    phones = [{"extension": e, "owner": owners.get(e)} for e in tel.agent_extensions]
    return render("admin/phones.html", request, {
        "title": "坐席话机", "phones": phones, "notice": notice or request.query.get("notice"), "error": error,
        "transport": tel.transport(tel.agent_transport)}, status=status)


async def phones_view(request: web.Request) -> web.StreamResponse:
    return await phones_page(request)


async def rotate(request: web.Request) -> web.StreamResponse:
    admin = await require_page_user(request, Role.ADMIN)
    await request.post()  # the CSRF middleware has checked the form's token
    extension = request.match_info["extension"]
    tel = request.app[SETTINGS].telephony
    if extension not in tel.agent_extensions:
        return await phones_page(request, error=f"没有分机 {extension}", status=404)
    try:
        rotate_agent_password(tel, extension)
        reloaded = process.apply_config(tel) if tel.enabled else False
    except (RigError, OSError) as exc:
        return await phones_page(request, error=f"密码轮换失败：{exc}", status=409)
    async with write_transaction(request.app[ENGINE]) as conn:
        await audit.append(conn, request.app[CLOCK](), admin.username, "sip_password_rotated", extension,
                           {"reloaded": reloaded}, remote_of(request))
    note = "，话机需用新密码重新注册" if reloaded else "（Asterisk 未运行，启动后生效）"
    raise web.HTTPSeeOther(f"/admin/phones?notice=已轮换分机 {extension} 的密码{note}")


def setup(app: web.Application) -> None:
    register_nav(app, "我的话机", "/console/phone", PHONE_ROLES, order=11)
    app.router.add_get("/console/phone", my_phone)
    app.router.add_get("/admin/phones", phones_view)
    app.router.add_post("/admin/phones/{extension}/rotate", rotate)
