"""Console times are the site's wall-clock times, whatever time zone the agent's browser is set to."""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import Site, login

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
SITE_TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("browser_tz", ["America/New_York", "UTC", "Asia/Shanghai"])
def test_hhmm_shows_the_site_time_in_any_browser_zone(site: Site, browser, browser_tz: str, clock) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN", timezone_id=browser_tz)
    try:
        page = login(context, site.url, "agent01")
        now = clock().astimezone(SITE_TZ)
        page.clock.set_fixed_time(now)  # the page's "today" is the app clock's, not the machine's
        today = now.replace(hour=9, minute=30, second=0, microsecond=0)
        earlier = today - timedelta(days=3)
        as_utc = earlier.astimezone(UTC)
        shown = page.evaluate("(xs) => xs.map((x) => window.hotline.hhmm(x))",
                              [today.isoformat(), earlier.isoformat(), as_utc.isoformat().replace("+00:00", "Z")])
        assert shown[0] == "09:30"  # today: the time only, in the site's digits
        assert shown[1] == f"{earlier.month}月{earlier.day}日 09:30"
        assert shown[2].endswith(f"{as_utc.hour:02d}:{as_utc.minute:02d}")  # a string in UTC is shown as written
    finally:
        context.close()
