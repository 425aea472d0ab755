"""The agent console page (/console): softphone state, screen pop, case form with the map."""

from __future__ import annotations

from aiohttp import web

from ticketing.domain.model import Role
from web.auth import require_page_user
from web.keys import SETTINGS
from web.templating import register_nav, render, setup_templating

CONSOLE_ROLES = (Role.AGENT, Role.LEAD)


async def console_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *CONSOLE_ROLES)
    settings = request.app[SETTINGS]
    extensions = list(settings.telephony.agent_extensions)
    return render("console.html", request, {
        "title": "受理台", "extension": user.extension or "", "extensions": extensions,
        "telephony": settings.telephony.enabled,
        "reasons": {"break": "小休", "training": "培训", "meeting": "会议", "meal": "用餐"},
    })


def setup(app: web.Application) -> None:
    setup_templating(app)
    register_nav(app, "受理台", "/console", CONSOLE_ROLES, order=10)
    app.router.add_get("/console", console_page, name="console")
