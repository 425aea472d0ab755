"""The one rule for phone numbers (core/privacy.py) and every outlet that applies it, as pure functions."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from core.accounts import User
from core.bus import BusEvent
from core.identity import Role
from core.privacy import mask_phone, may_reveal, normalize_phone, phone_for, sees_full_number
from ticketing.notify.channels import LogChannel
from web.api.calls import call_numbers, masked_snapshot
from web.live import encode

NUMBER = "13812345678"
MASKED = "138****5678"


@pytest.mark.parametrize(
    ("role", "full", "reveal"),
    [
        (Role.AGENT, True, False),
        (Role.LEAD, True, False),
        (Role.SYSTEM, True, False),
        (Role.DISPATCHER, False, True),
        (Role.DEPARTMENT, False, True),
        (Role.INSPECTOR, False, True),
        (Role.ADMIN, False, False),
        (Role.LEADER, False, False),
    ],
)
def test_one_rule_decides_who_sees_and_who_may_reveal_full_numbers(role: Role, full: bool, reveal: bool) -> None:
    assert sees_full_number(role) is full and sees_full_number(role.value) is full
    assert may_reveal(role) is reveal
    assert phone_for(role, NUMBER) == (NUMBER if full else MASKED)


def test_unknown_roles_see_masked_numbers() -> None:
    assert phone_for("nobody", NUMBER) == MASKED and not may_reveal("nobody")


def test_masking_and_normalising() -> None:
    assert mask_phone(NUMBER) == MASKED and mask_phone(None) is None and mask_phone("12319") == "1***9"
    assert normalize_phone("138-1234 5678") == NUMBER and normalize_phone("+86 138 1234 5678") == NUMBER
    assert normalize_phone("0086 138 1234 5678") == NUMBER  # one national form (core.phone)


def _user(role: Role) -> User:
    return User(1, "u", "u", role, None, "8001", True)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DISPATCHER])
def test_websocket_queue_and_call_records_mask_numbers_for_admins_and_dispatchers(role: Role) -> None:
    event = BusEvent("call", "offered", datetime(2026, 1, 1, tzinfo=UTC), {"caller": NUMBER, "agent_id": "8001"})
    assert NUMBER not in encode(event, _user(role)) and MASKED in encode(event, _user(role))
    snapshot = {"waiting": [{"call_id": "c1", "caller": NUMBER}], "agents": [], "ready": 0}
    assert masked_snapshot(role, snapshot)["waiting"][0]["caller"] == MASKED
    assert call_numbers(role, {"direction": "inbound", "caller": NUMBER, "called": "12319"})["caller"] == MASKED
    assert call_numbers(role, {"direction": "outbound", "caller": "8001", "called": NUMBER})["called"] == MASKED


def test_agents_and_leads_get_full_numbers_on_the_websocket_and_the_queue() -> None:
    event = BusEvent("call", "offered", datetime(2026, 1, 1, tzinfo=UTC), {"caller": NUMBER})
    for role in (Role.AGENT, Role.LEAD):
        assert NUMBER in encode(event, _user(role))
        assert masked_snapshot(role, {"waiting": [{"caller": NUMBER}]})["waiting"][0]["caller"] == NUMBER


async def test_the_log_sms_channel_logs_masked_numbers(caplog: pytest.LogCaptureFixture) -> None:
    channel = LogChannel()
    with caplog.at_level(logging.INFO):
        await channel.send(NUMBER, "您的案件已办结", datetime(2026, 1, 1, tzinfo=UTC))
    assert NUMBER not in caplog.text and MASKED in caplog.text
    assert channel.sent == [(NUMBER, "您的案件已办结")]  # the gateway itself still gets the number
