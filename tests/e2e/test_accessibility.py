"""Every page the platform serves passes axe-core's WCAG 2.0/2.1 A and AA rules (GB/T 37668) in Chromium.

The pages are taken from the application's route table, so a new page without an entry in PAGES fails
here. axe-core is installed by scripts/install.sh into var/node (pinned by scripts/node/package-lock.json)
and injected from that file; nothing is fetched at run time. Needs no Asterisk: pages render without calls.
Screenshots of every page: test-artifacts/a11y-*.png (git-ignored)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from config.bootstrap import create_app
from config.settings import load_settings
from tests.e2e.conftest import PASSWORD, ROOT, Site, login, shot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
AXE = ROOT / "var" / "node" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORT = {"width": 1600, "height": 900}
# GET routes that are not HTML pages: JSON and Open311 APIs, static files, photos, the websocket, "/" (redirect),
# the browser phone's ring tone. The console with the browser phone on: tests/e2e/test_console_webrtc.py.
NOT_PAGES = re.compile(
    r"^(/api/|/open311/|/static|/photos/|/ws$|/$|/inspector/(sw\.js|manifest\.webmanifest)$|/console/ringtone\.wav$)"
)
DEPARTMENT = "dept-*"  # stands for the department user with demo work orders (the demo fixture)


@dataclass(frozen=True)
class Visit:
    user: str | None  # None: anonymous
    ready: str = "body"  # a selector that is there once the page's scripts have drawn it


# Every page route with the user who sees it (a role allowed to open it) and what says it is drawn.
PAGES: dict[str, Visit] = {
    "/login": Visit(None, "form"),
    "/me": Visit("agent01"),
    "/console": Visit("agent01", "body[data-map-ready='1']"),
    "/wallboard": Visit("lead01", "body[data-ready='1']"),
    "/reports": Visit("lead01", "body[data-ready='1']"),
    "/lead": Visit("lead01"),
    "/case/{case_no}": Visit("lead01"),
    "/dept": Visit(DEPARTMENT),
    "/admin": Visit("admin"),
    "/admin/users": Visit("admin"),
    "/admin/calendar": Visit("admin"),
    "/admin/departments": Visit("admin"),
    "/admin/tokens": Visit("admin"),
    "/admin/categories": Visit("admin"),
    "/track": Visit(None, "form"),
    "/report": Visit(None, "body[data-map-ready='1']"),
    "/inspector": Visit("inspector01", "body[data-ready='1']"),
    "/inspectors": Visit("lead01", "body[data-ready='1']"),
    "/admin/phones": Visit("admin"),
    "/console/phone": Visit("agent01"),
}

# One element of every coloured state the stylesheets define, also the ones the demo data does not show
# (red and yellow lights, agent states, alerts, toasts), put on a card and on the page background.
STATES = ("reported", "accepted", "registered", "dispatched", "handled", "closed", "invalid", "backlog")
AGENT_STATES = ("logged_out", "ready", "not_ready", "ringing", "on_call", "wrap_up")
PALETTE = "".join([
    *(f'<span class="badge light-{c}"><span class="dot"></span>{c}</span>' for c in ("green", "yellow", "red")),
    '<span class="badge badge-none">已完成</span><span class="badge badge-state">已受理</span>',
    '<span class="badge badge-kind">延期</span><span class="tag">第 1 位</span><span class="tag warn">待回拨</span>',
    '<span class="tag cell">单元网格</span>', *(f'<span class="tag s-{s}">{s}</span>' for s in STATES),
    *(f'<span class="pill" data-state="{s}">{s}</span>' for s in AGENT_STATES),
    '<span class="pill" data-reg="online">在线</span><span class="pill" data-reg="offline">离线</span>',
    '<span class="count">3</span><span class="count red">1</span><span class="count yellow">2</span>',
    '<h3 class="red-title">超期案件</h3><h3 class="yellow-title">预警案件</h3>',
    *(f'<div class="alert alert-{k}">提示</div>' for k in ("error", "ok", "warn")),
    '<span class="muted">说明</span><span class="hint">提示</span><span class="code">10118</span>',
    '<button class="btn btn-danger">删除</button><button class="btn btn-primary">保存</button>',
    '<button class="cbtn ok">就绪</button><button class="cbtn danger">挂断</button>',
    '<span class="form-msg ok">已受理</span><span class="form-msg error">失败</span>',
    '<span class="live-dot" data-up="0">已断开</span><span class="live-dot" data-up="1">实时连接正常</span>',
    *(f'<div class="toast {k}">消息</div>' for k in ("ok", "error", "warn")),
    *(f'<div class="kpi {k}"><div class="kpi-label">超期</div><div class="kpi-value">3</div></div>'
      for k in ("red", "yellow", "alert")),
])
SHOW_PALETTE = """(html) => { for (const [id, cls] of [['a11y-card', 'card'], ['a11y-bg', '']]) {
  const box = document.createElement('section'); box.id = id; box.className = cls; box.innerHTML = html;
  document.querySelector('main').prepend(box); } }"""

RUN_AXE = """async ([tags, scope]) => {
  const context = scope ? document.querySelectorAll(scope) : document;
  const result = await axe.run(context, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.flatMap(v => v.nodes.map(n => ({rule: v.id, impact: v.impact,
    target: n.target.join(' '), summary: n.failureSummary.split('\\n').slice(1, 2).join('').trim()})));
}"""


def page_routes(site: Site) -> set[str]:
    """The GET routes of the application the site runs (same settings), less the ones that are not pages."""
    environ = dict(site.env)
    app = create_app(load_settings(environ=environ))
    routes = {r.resource.canonical for r in app.router.routes() if r.method == "GET" and r.resource}
    return {path for path in routes if not NOT_PAGES.match(path)}


def violations(page: object, scope: str | None = None) -> list[str]:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: scripts/install.sh installs axe-core (npm ci into var/node)")
    # Through DevTools, not a <script> tag: the pages' Content-Security-Policy refuses inline scripts.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")  # type: ignore[attr-defined]
    found = page.evaluate(RUN_AXE, [TAGS, scope])  # type: ignore[attr-defined]
    return [f"{f['rule']} ({f['impact']}) {f['target']}: {f['summary']}" for f in found]


def check(context: object, url: str, name: str, ready: str) -> list[str]:
    page = context.pages[0] if context.pages else context.new_page()  # type: ignore[attr-defined]
    answer = page.goto(url)
    assert answer is not None and answer.ok, (url, answer and answer.status)
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")
    shot(page, f"a11y-{name}")
    return [f"/{url.split('/', 3)[-1]}: {line}" for line in violations(page)]


@dataclass(frozen=True)
class Demo:
    department_user: str  # one with dispatched demo work orders, so its portal is not empty
    case_no: str


@pytest.fixture(scope="module")
def demo(site: Site, browser) -> Demo:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    login(context, site.url, "lead01")

    def first(query: str) -> dict[str, Any]:
        answer = context.request.get(f"{site.url}/api/v1/cases{query}")
        assert answer.ok, answer.status
        items: list[dict[str, Any]] = answer.json()["items"]
        assert items, f"the demo seed made no cases for /api/v1/cases{query}"
        return items[0]

    found = Demo(f"dept-{first('?state=dispatched')['department']['code']}", str(first("")["case_no"]))
    context.close()
    return found


def test_every_page_route_has_an_accessibility_check(site: Site) -> None:
    assert page_routes(site) == set(PAGES), "add the new page to PAGES in tests/e2e/test_accessibility.py"


def test_every_page_has_no_axe_violations(site: Site, browser, demo: Demo) -> None:  # type: ignore[no-untyped-def]
    found: list[str] = []
    contexts: dict[str | None, object] = {}
    for path, visit in PAGES.items():
        user = demo.department_user if visit.user == DEPARTMENT else visit.user
        if user not in contexts:
            contexts[user] = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
            if user is not None:
                login(contexts[user], site.url, user)
        url = site.url + path.replace("{case_no}", demo.case_no)
        name = path.strip("/").replace("/", "-").replace("{case_no}", "detail") or "root"
        found += check(contexts[user], url, name, visit.ready)
    for context in contexts.values():
        context.close()  # type: ignore[attr-defined]
    assert found == [], f"{len(found)} accessibility violations:\n" + "\n".join(found)


def test_error_pages_a_refused_login_and_the_phone_layout_have_no_axe_violations(  # type: ignore[no-untyped-def]
        site: Site, browser, demo: Demo) -> None:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{site.url}/login")
    page.fill("input[name=username]", "agent01")
    page.fill("input[name=password]", PASSWORD + "-wrong")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    shot(page, "a11y-login-refused")
    found = [f"/login (refused): {line}" for line in violations(page)]
    login(context, site.url, "agent01")
    answer = page.goto(f"{site.url}/wallboard")
    assert answer is not None and answer.status == 403
    shot(page, "a11y-error-403")
    found += [f"/wallboard (403 page): {line}" for line in violations(page)]
    context.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    login(phone, site.url, demo.department_user)  # department staff use the portal in the street
    found += check(phone, f"{site.url}/dept", "dept-phone", "body")
    phone.close()
    citizen = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    found += check(citizen, f"{site.url}/report", "report-phone", "body[data-map-ready='1']")
    found += check(citizen, f"{site.url}/track", "track-phone", "form")
    citizen.close()
    inspector = browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN", is_mobile=True,
                                    has_touch=True)
    page = login(inspector, site.url, "inspector01")  # 城管通 on a small phone, each of its views
    for view in ("report", "queue"):
        page.wait_for_selector("body[data-ready='1']")
        page.evaluate(f"document.getElementById('{'btn-report' if view == 'report' else 'queue-badge'}').click()")
        page.wait_for_selector(f"#view-{view}:not([hidden])")
        shot(page, f"a11y-inspector-{view}")
        found += [f"/inspector ({view}): {line}" for line in violations(page)]
        page.goto(f"{site.url}/inspector")
    inspector.close()
    assert found == [], f"{len(found)} accessibility violations:\n" + "\n".join(found)


def test_every_coloured_state_of_the_stylesheets_has_enough_contrast(site: Site, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = login(context, site.url, "lead01")
    page.goto(f"{site.url}/wallboard")  # loads app.css and console.css
    page.wait_for_selector("body[data-ready='1']")
    page.evaluate(SHOW_PALETTE, PALETTE)
    shot(page, "a11y-palette")
    found = violations(page, "#a11y-card, #a11y-bg")
    context.close()
    assert found == [], f"{len(found)} accessibility violations:\n" + "\n".join(found)
