"""Page rendering: one jinja2 environment per app with the layout's context and small filters.

Every page template extends "base.html" and fills `{% block content %}` (optionally `title`, `head`, `scripts`,
`body_class`). The context always holds `user` (or None), `csrf_token`, `nav` (items for this user's role),
`system_name` and `csrf_field()` (a hidden input for forms). Feature modules add navigation entries with
`register_nav(app, label, href, roles, order)`.

`render` is synchronous: it reads the user and session that `require_page_user` (or `current_user`) already
attached to the request, so call one of those first on any page that shows the logged-in layout.
(aiohttp-jinja2 1.6 stores plain string keys on requests, which aiohttp 3.14 warns about; a small environment of
our own avoids that.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from ticketing.domain.model import Role
from web.auth import SESSION_KEY, USER_KEY

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
SYSTEM_NAME = "海盐县12319城市管理服务热线"
LIGHT_LABELS = {"green": "正常", "yellow": "预警", "red": "超期"}
# Pages hold personal data: not cached, not framed by other sites (clickjacking), no type sniffing.
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin"}


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    href: str
    roles: frozenset[Role]
    order: int = 100


NAV = web.AppKey("nav", list[NavItem])
ENV = web.AppKey("jinja_env", jinja2.Environment)


def register_nav(app: web.Application, label: str, href: str, roles: Iterable[Role | str], order: int = 100) -> None:
    """Add a top-bar link shown to the given roles (call from a feature's setup)."""
    items = app.get(NAV)
    if items is None:
        items = app[NAV] = []
    items.append(NavItem(label, href, frozenset(Role(r) for r in roles), order))
    items.sort(key=lambda i: i.order)


def setup_templating(app: web.Application) -> None:
    """Install the environment and /static/ once (safe to call from several features)."""
    if ENV in app:
        return
    if NAV not in app:
        app[NAV] = []
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.ChainableUndefined)
    env.filters.update(light=light_badge, dt=short_time)
    env.globals["LIGHT_LABELS"] = LIGHT_LABELS
    app[ENV] = env
    app.router.add_static("/static/", STATIC, name="static", append_version=False)


def layout_context(request: web.Request) -> dict[str, Any]:
    user = request.get(USER_KEY)
    session = request.get(SESSION_KEY)
    token = session.csrf_token if session else ""
    nav = [i for i in request.app.get(NAV, []) if user is not None and user.role in i.roles]
    return {"user": user, "csrf_token": token, "nav": nav, "system_name": SYSTEM_NAME,
            "current_path": request.path,
            "csrf_field": lambda: Markup(f'<input type="hidden" name="csrf_token" value="{escape(token)}">')}


def light_badge(light: str | None) -> Markup:
    """A traffic-light badge: 绿 正常 / 黄 预警 / 红 超期 (nothing for cases without a running clock)."""
    if not light:
        return Markup('<span class="badge badge-none">—</span>')
    label = LIGHT_LABELS.get(light, light)
    return Markup(f'<span class="badge light-{escape(light)}"><i class="dot"></i>{escape(label)}</span>')


def short_time(value: str | datetime | None) -> str:
    """ISO times from the read side as "11-23 09:30" (the year only when it is not obvious)."""
    if not value:
        return ""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.strftime("%Y-%m-%d %H:%M")


def render(template: str, request: web.Request, context: Mapping[str, Any], *, status: int = 200) -> web.Response:
    """Render a page template with the layout context (user, nav, CSRF token) merged under `context`."""
    html = request.app[ENV].get_template(template).render({**layout_context(request), **context})
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers=PAGE_HEADERS)
