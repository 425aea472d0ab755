"""Shift lead and dispatcher pages: inboxes, dispatch through the form, approvals, stale versions, phones."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.tables import audit_log
from tests.integration.test_web_support import Site, site_fixture  # noqa: F401
from web.keys import ENGINE


def version_in(html: str, command: str) -> str:
    form = html[html.index(f'id="act-{command}"'):]
    found = re.search(r'name="version" value="(\d+)"', form)
    assert found is not None
    return found.group(1)


async def test_inbox_lists_cases_waiting_for_registration_and_dispatch(site: Site) -> None:
    accepted = await site.new_case()
    registered = await site.new_case(description="人民路垃圾桶满溢", category_code="20101")
    await site.act(registered["case_no"], "register", "lead01")
    browser = await site.as_user("lead01")
    status, html = await browser.get("/lead")
    assert status == 200
    to_register = html[html.index('id="to-register"'):]
    to_register = to_register[:to_register.index("</section>")]
    to_dispatch = html[html.index('id="to-dispatch"'):]
    to_dispatch = to_dispatch[:to_dispatch.index("</section>")]
    assert accepted["case_no"] in to_register and registered["case_no"] not in to_register
    assert registered["case_no"] in to_dispatch and accepted["case_no"] not in to_dispatch
    assert "正常" in to_register  # traffic light badge
    await site.act(registered["case_no"], "dispatch", "dispatcher01", department="hws")
    await site.act(registered["case_no"], "submit_result", "dept-hws", notes="已清运")
    _, html = await browser.get("/lead")
    to_close = html[html.index('id="to-close"'):]
    assert registered["case_no"] in to_close[:to_close.index("</section>")]
    browser = await site.as_user("dispatcher01")
    _, html = await browser.get("/lead")
    assert 'id="to-close"' not in html  # closing is the shift lead's


async def test_lead_registers_and_dispatcher_dispatches_through_the_forms(site: Site) -> None:
    case = await site.new_case()
    no = case["case_no"]
    browser = await site.as_user("lead01")
    status, html = await browser.get(f"/case/{no}")
    assert status == 200 and 'id="act-register"' in html and 'id="act-dispatch"' not in html
    status, where = await browser.post(f"/case/{no}/act/register", {"version": version_in(html, "register")})
    assert (status, where) == (303, f"/case/{no}?done=register")
    browser = await site.as_user("dispatcher01")
    status, html = await browser.get(f"/case/{no}")
    form = html[html.index('id="act-dispatch"'):]
    assert re.search(r'<option value="(\w+)" selected>', form), "the suggested department is preselected"
    status, where = await browser.post(f"/case/{no}/act/dispatch",
                                       {"version": version_in(html, "dispatch"), "department": "szs"})
    assert status == 303
    status, view = await site.api("GET", f"/api/v1/cases/{no}", "lead01")
    assert view["state"] == "dispatched" and view["department"]["code"] == "szs"


async def test_a_stale_version_shows_that_someone_else_changed_the_case(site: Site) -> None:
    case = await site.new_case()
    browser = await site.as_user("lead01")
    _, html = await browser.get(f"/case/{case['case_no']}")
    await site.act(case["case_no"], "request_verification", "agent01")  # someone else moves the case on
    status, html = await browser.post(f"/case/{case['case_no']}/act/register",
                                      {"version": version_in(html, "register")})
    assert status == 409 and "案件已被他人修改，请刷新" in html


async def test_dispatcher_approves_an_extension_and_refuses_a_return_with_a_reason(site: Site) -> None:
    case = await site.new_case()
    no = case["case_no"]
    await site.act(no, "register", "lead01")
    await site.act(no, "dispatch", "dispatcher01", department="szs")
    await site.act(no, "request_extension", "dept-szs", value=2, unit="working_days", reason="需采购灯具")
    browser = await site.as_user("dispatcher01")
    status, html = await browser.get("/lead")
    approvals = html[html.index('id="approvals"'):html.index('id="to-')]
    assert no in approvals and "延期" in approvals and "需采购灯具" in approvals and "2" in approvals
    _, html = await browser.get(f"/case/{no}")
    status, _ = await browser.post(f"/case/{no}/act/approve_extension",
                                   {"version": version_in(html, "approve_extension"), "next": "/lead"})
    assert status == 303
    await site.act(no, "request_return", "dept-szs", reason="不属于本部门职责")
    _, html = await browser.get(f"/case/{no}")
    status, html = await browser.post(f"/case/{no}/act/refuse_return",
                                      {"version": version_in(html, "refuse_return"), "reason": ""})
    assert status == 422 and "理由" in html  # a refusal needs a reason
    status, _ = await browser.post(f"/case/{no}/act/refuse_return",
                                   {"version": version_in(html, "refuse_return"), "reason": "属于路灯管护范围"})
    assert status == 303
    _, view = await site.api("GET", f"/api/v1/cases/{no}", "dispatcher01")
    decided = {(r["kind"], r["state"], r["decision_reason"]) for r in view["requests"]}
    assert decided == {("extension", "approved", None), ("return", "refused", "属于路灯管护范围")}
    status, html = await browser.get("/lead")
    assert "没有待审批的申请" in html


async def test_phone_is_masked_for_dispatchers_and_revealing_it_is_audited(site: Site) -> None:
    case = await site.new_case(caller_phone="13812340000")
    browser = await site.as_user("dispatcher01")
    _, html = await browser.get(f"/case/{case['case_no']}")
    assert "138****0000" in html and "13812340000" not in html and "显示完整号码" in html
    status, html = await browser.post(f"/case/{case['case_no']}/phone", {})
    assert status == 200 and "13812340000" in html
    async with site.client.post(f"/case/{case['case_no']}/phone", headers={
            "X-CSRF-Token": browser.csrf, "Accept": "application/json"}) as resp:
        assert resp.status == 200 and (await resp.json())["caller_phone"] == "13812340000"
    async with site.client.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(audit_log).where(audit_log.c.action == "reveal_phone"))).mappings().all()
    assert [(r["actor"], r["target"]) for r in rows] == [("dispatcher01", case["case_no"])] * 2
    browser = await site.as_user("agent01")
    _, html = await browser.get(f"/case/{case['case_no']}")
    assert "13812340000" in html and "显示完整号码" not in html  # agents call citizens back


async def test_lead_pages_are_refused_to_other_roles(site: Site) -> None:
    for username in ("agent01", "dept-szs", "inspector01", "admin"):
        browser = await site.as_user(username)
        status, html = await browser.get("/lead")
        assert status == 403 and "无权访问" in html, username
