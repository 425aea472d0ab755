"""Message templates (per event, per category, per site) and the HTTP gateway request rendering."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from ticketing.notify.channels import HttpChannel
from ticketing.notify.domain.signing import sms_signature
from ticketing.notify.messages import EVENTS, MessageTemplates
from ticketing.notify.settings import HttpGatewaySettings, NotifySettings

CONTEXT = {"case_no": "202611230001", "category_name": "占道经营", "department_name": "海盐县综合行政执法局",
           "result": "已劝离", "due": "11月23日14:30", "county_name": "海盐县"}


@pytest.mark.parametrize("event", EVENTS)
def test_every_event_has_a_chinese_message_with_the_case_number(event: str) -> None:
    text = MessageTemplates().render(event, "20505", CONTEXT)
    assert "202611230001" in text and "12319" in text and "\n" not in text


def test_results_and_departments_appear_where_they_belong() -> None:
    templates = MessageTemplates()
    assert "海盐县综合行政执法局" in templates.render("dispatched", "20505", CONTEXT)
    assert "处理结果：已劝离" in templates.render("closed", "20505", CONTEXT)
    assert "处理结果" not in templates.render("closed", "20505", {**CONTEXT, "result": None})
    assert "满意请回复1" in templates.render("survey", "20505", CONTEXT)


def test_category_and_site_templates_override_the_event_template(tmp_path: Path) -> None:
    assert "暴露垃圾" in MessageTemplates().render("closed", "20102", CONTEXT)
    (tmp_path / "accepted.j2").write_text("【本站】{{ case_no }}已受理", encoding="utf-8")
    assert MessageTemplates(str(tmp_path)).render("accepted", "20505", CONTEXT) == "【本站】202611230001已受理"


def test_unknown_events_have_no_template() -> None:
    with pytest.raises(KeyError):
        MessageTemplates().render("exploded", "20505", CONTEXT)


def test_http_gateway_request_is_rendered_and_signed() -> None:
    cfg = HttpGatewaySettings(secret="s", app_key="hy", sign_algorithm="md5", sign_uppercase=True)
    channel = HttpChannel(cfg, session=lambda: None)  # type: ignore[arg-type, return-value]
    body, sign = channel.render("13800000000", "您好\"引号\"", datetime(2026, 11, 23, 1, 0, tzinfo=UTC), nonce="n1")
    data = json.loads(body)
    assert data["content"] == "您好\"引号\"" and data["timestamp"] == "1795395600"
    assert sign == data["sign"] == sms_signature("md5", "s", "hy138000000001795395600n1").upper()


def test_settings_refuse_bad_thresholds_and_windows() -> None:
    assert NotifySettings().reminders == ("yellow", "due", "due+24h")
    with pytest.raises(ValidationError, match="threshold"):
        NotifySettings(reminders=("soon",))
    with pytest.raises(ValidationError, match="calling window"):
        NotifySettings(callback_window=("21:00", "08:00"))
