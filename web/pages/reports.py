"""The leader's page (/reports, 领导的落地页): rankings with grades, trends, the hotspot map, top classes,
recurring places, overdue and rework lists, hotline service levels and the archived 通报.

The page draws everything from /api/v1/evaluation/report, /hotspots and /bulletins (web/static/reports.js)
with Apache ECharts served from /static/vendor/echarts/ (copied there from the pinned npm package by
scripts/install.sh; no CDN). Read-only for leaders; every figure is also a table (for screen readers and for
the XLSX/CSV exports).
"""

from __future__ import annotations

from aiohttp import web

from ticketing.evaluation.domain.periods import local_day
from web.api.evaluation import EVALUATION
from web.api.reports import READERS
from web.auth import require_page_user
from web.templating import register_nav, render, setup_templating


async def reports_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *READERS)
    svc = request.app[EVALUATION]
    today = local_day(svc.clock(), svc.tz)
    versions = {pid: sorted(v for (p, v) in svc.profiles.profiles if p == pid) for pid in ("jinniu", "region")}
    return render(
        "reports.html",
        request,
        {
            "title": "综合评价与报表",
            "today": today.isoformat(),
            "versions": versions,
            "can_publish": user.role.value != "leader",
        },
    )


def setup(app: web.Application) -> None:
    setup_templating(app)
    register_nav(app, "综合评价", "/reports", READERS, order=30)
    app.router.add_get("/reports", reports_page, name="reports")
