"""HTML pages: login, shift lead / dispatcher inboxes, case detail, department portal, administration.

`setup(app)` installs the templates, /static/, the navigation of these pages and a middleware that turns
page errors (wrong role, unknown case, refused input) into Chinese HTML pages instead of JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from core.errors import DomainError
from ticketing.domain.model import Role
from web.auth import PageForbidden
from web.templating import register_nav, render, setup_templating


def is_page(request: web.Request) -> bool:
    return not request.path.startswith(("/api/", "/open311/", "/static/"))


@web.middleware
async def page_error_middleware(request: web.Request,
                                handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                                ) -> web.StreamResponse:
    try:
        return await handler(request)
    except PageForbidden as exc:
        if not is_page(request):
            raise
        return render("case/error.html", request, {"title": "无权访问", "message": exc.message}, status=403)
    except DomainError as exc:
        if not is_page(request) or "json" in request.headers.get("Accept", ""):
            raise
        return render("case/error.html", request, {"title": "无法完成", "message": exc.message},
                      status=exc.status)


def setup(app: web.Application) -> None:
    from web.pages import admin, auth, case, dept, lead, phone, public

    setup_templating(app)
    app.middlewares.append(page_error_middleware)
    register_nav(app, "待办", "/lead", (Role.LEAD, Role.DISPATCHER), order=20)
    register_nav(app, "部门工单", "/dept", (Role.DEPARTMENT,), order=20)
    register_nav(app, "系统管理", "/admin", (Role.ADMIN,), order=90)
    for module in (auth, lead, case, dept, admin, phone, public):
        module.setup(app)
