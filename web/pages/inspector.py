"""The inspector's phone app (城管通, /inspector): the page, its web app manifest and service worker, and the
lead's view of inspectors' days (/inspectors).

The service worker is served from /inspector/sw.js with `Service-Worker-Allowed: /inspector`, so it controls
/inspector itself (a worker's default scope is its folder, /inspector/, which would not include the page).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from aiohttp import web
from markupsafe import Markup

from ticketing.domain.model import Role
from web.api.inspector import LEADS, inspectors_today, service
from web.auth import require_page_user
from web.templating import STATIC, register_nav, render, setup_templating

MANIFEST = {
    "name": "城管通 · 海盐县12319城市管理",
    "short_name": "城管通",
    "lang": "zh-CN",
    "description": "城管监督员巡查上报、核实核查（离线可用）",
    "start_url": "/inspector",
    "scope": "/inspector",
    "display": "standalone",
    "orientation": "portrait",
    "background_color": "#ffffff",
    "theme_color": "#1557b0",
    "icons": [
        {"src": "/static/img/inspector-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "/static/img/inspector-512.png", "sizes": "512x512", "type": "image/png"},
        {"src": "/static/img/logo.svg", "sizes": "any", "type": "image/svg+xml"},
    ],
}


async def inspector_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, Role.INSPECTOR)
    return render("inspector.html", request, {"title": "城管通", "display_name": user.display_name})


async def manifest(request: web.Request) -> web.Response:
    return web.Response(
        text=json.dumps(MANIFEST, ensure_ascii=False),
        content_type="application/manifest+json",
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


async def service_worker(request: web.Request) -> web.Response:
    # Not behind a login: the browser fetches it to check for updates, and it holds no personal data.
    return web.Response(
        body=(STATIC / "inspector-sw.js").read_bytes(),
        content_type="text/javascript",
        charset="utf-8",
        headers={"Service-Worker-Allowed": "/inspector", "Cache-Control": "no-cache"},
    )


async def lead_inspectors(request: web.Request) -> web.Response:
    await require_page_user(request, *LEADS)
    items = await inspectors_today(request.app)
    chosen = request.query.get("u") or (items[0]["username"] if items else None)
    if chosen and chosen not in {i["username"] for i in items}:
        chosen = None
    day: dict[str, Any] | None = None
    when: date | None = None
    try:
        when = date.fromisoformat(request.query["date"]) if request.query.get("date") else None
    except ValueError:
        when = None
    if chosen:
        day = await service(request.app).day(chosen, when)
    return render(
        "lead/inspectors.html",
        request,
        {
            "title": "监督员",
            "items": items,
            "chosen": chosen,
            "day": day,
            "day_json": Markup(json.dumps(day or {}, ensure_ascii=False).replace("</", "<\\/")),
        },
    )


def setup(app: web.Application) -> None:
    setup_templating(app)
    register_nav(app, "监督员", "/inspectors", LEADS, order=25)
    app.router.add_get("/inspector", inspector_page, name="inspector")
    app.router.add_get("/inspector/manifest.webmanifest", manifest)
    app.router.add_get("/inspector/sw.js", service_worker)
    app.router.add_get("/inspectors", lead_inspectors)
