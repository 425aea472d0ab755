"""The exchange's pure parts: the profile, parsing at the boundary, signatures, decisions, the lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ticketing.exchange.domain import lifecycle, signing
from ticketing.exchange.domain.decide import CaseSide, Verdict, decide
from ticketing.exchange.domain.inbound import BadMessage, ExtensionAnswer, Order, Visit, parse
from ticketing.exchange.domain.lifecycle import OutEvent, OutState
from ticketing.exchange.domain.outbound import render, suggest_category
from ticketing.exchange.links import load_profile
from ticketing.notify.domain.lifecycle import IllegalTransition

PROFILE = load_profile("generic-12345")
ORDER = {
    "msgType": "DISPATCH",
    "msgId": "M1",
    "workOrderNo": "GS1",
    "content": "路灯不亮",
    "appealType": "20",
    "latitude": "30.52",
    "longitude": "120.94",
    "limitTime": "2026-11-25 17:30:00",
    "secrecyFlag": "1",
    "appealPerson": "王五",
    "callerNumber": "139-0000-1111",
}


def test_an_order_is_read_through_the_profile_with_local_times_and_codes() -> None:
    message = parse(ORDER, PROFILE)
    assert message.kind == "order" and message.key == "M1" and message.ext_order_no == "GS1"
    body = message.body
    assert isinstance(body, Order)
    assert body.appeal_type == "投诉" and body.anonymous and body.caller_no == "13900001111"
    assert body.due_at == datetime(2026, 11, 25, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai


def test_swapped_coordinates_are_put_right_and_impossible_ones_refused() -> None:
    body = parse({**ORDER, "latitude": "120.94", "longitude": "30.52"}, PROFILE).body
    assert isinstance(body, Order) and (body.lat, body.lon) == (30.52, 120.94)
    with pytest.raises(BadMessage) as err:
        parse({**ORDER, "latitude": "300", "longitude": "30"}, PROFILE)
    assert err.value.code == "bad_point"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"msgType": "NOPE"}, "unknown_type"),
        ({"workOrderNo": ""}, "missing_field"),
        ({"content": None}, "missing_field"),
        ({"content": "x" * 4001}, "bad_field"),
        ({"limitTime": "明天"}, "bad_time"),
        ({"latitude": "nan"}, "bad_field"),
        ({"callerNumber": "call me"}, "bad_field"),
        ({"attachments": [{"url": "https://x/p.jpg"}] * 51}, "bad_field"),
    ],
)
def test_a_malformed_message_is_refused_whole_with_a_stable_code(change: dict[str, object], code: str) -> None:
    with pytest.raises(BadMessage) as err:
        parse({**ORDER, **change}, PROFILE)
    assert err.value.code == code and err.value.message


def test_without_a_message_id_the_key_is_the_content() -> None:
    raw = {k: v for k, v in ORDER.items() if k != "msgId"}
    assert parse(raw, PROFILE).key == parse(dict(raw), PROFILE).key != parse({**raw, "content": "y"}, PROFILE).key


def test_visit_codes_map_to_our_three_answers() -> None:
    visit = parse({"msgType": "VISIT", "workOrderNo": "GS1", "satisfaction": "不满意"}, PROFILE).body
    assert isinstance(visit, Visit) and visit.satisfaction == 3
    with pytest.raises(BadMessage):
        parse({"msgType": "VISIT", "workOrderNo": "GS1", "satisfaction": "7"}, PROFILE)


def test_signatures_need_the_secret_the_body_and_a_fresh_timestamp() -> None:
    body, now = b'{"a":1}', 1_800_000_000.0
    good = signing.sign("hmac_sha256", "k", str(int(now)), body)
    assert signing.check("hmac_sha256", "k", str(int(now)), body, good, now, 300) is None
    assert signing.check("hmac_sha256", "k", str(int(now)), body + b" ", good, now, 300) == "签名不正确"
    assert "窗口" in (signing.check("hmac_sha256", "k", str(int(now)), body, good, now + 301, 300) or "")
    assert signing.check("hmac_sha256", "k", None, body, good, now, 300) == "缺少签名或时间戳"
    sm3 = signing.sign("hmac_sm3", "k", "1", body)
    assert len(sm3) == 64 and sm3 != signing.sign("hmac_sha256", "k", "1", body)


def side(state: str, *, pending: tuple[str, ...] = (), acked: bool = False) -> CaseSide:
    return CaseSide(state, frozenset(pending), acked)


def test_a_visit_waits_for_our_acknowledged_finish_and_dissatisfied_reopens() -> None:
    visit = Visit(3, "还是不亮", "4")
    assert decide(visit, side("handled")).verdict is Verdict.HOLD
    assert decide(visit, side("closed")).verdict is Verdict.HOLD
    decision = decide(visit, side("closed", acked=True))
    assert [a.command for a in decision.acts] == ["rate", "reopen"] and "还是不亮" in (decision.acts[1].reason or "")
    assert [a.command for a in decide(Visit(1, None, "1"), side("closed", acked=True)).acts] == ["rate"]


def test_an_extension_answer_approves_refuses_or_is_only_recorded_when_late() -> None:
    due = datetime(2026, 11, 30, tzinfo=UTC)
    yes, no = ExtensionAnswer(True, due, "同意"), ExtensionAnswer(False, None, "材料不足")
    approved = decide(yes, side("dispatched", pending=("extension",)))
    assert [a.command for a in approved.acts] == ["approve_extension"] and approved.ext_due_at == due
    refused = decide(no, side("dispatched", pending=("extension",)))
    assert [a.command for a in refused.acts] == ["refuse_extension"] and "材料不足" in (refused.acts[0].reason or "")
    late = decide(yes, side("closed"))
    assert late.verdict is Verdict.RECORD and not late.acts and late.ext_due_at is None


def test_the_outbound_lifecycle_has_no_exit_from_acked_and_waiting_uses_no_try() -> None:
    assert lifecycle.LIFECYCLE.terminal() == frozenset({OutState.ACKED})
    assert lifecycle.LIFECYCLE.reachable() == frozenset(OutState)
    assert lifecycle.apply(OutState.SENDING, OutEvent.WAIT) is OutState.PENDING
    with pytest.raises(IllegalTransition):
        lifecycle.apply(OutState.ACKED, OutEvent.RETRY)


def test_an_outbound_body_is_rendered_in_the_platforms_names_and_local_time() -> None:
    at = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    path, body = render(
        PROFILE,
        "finish",
        {
            "message_id": "m1",
            "ext_order_no": "GS1",
            "sent_at": at,
            "at": at,
            "result_text": "已修复",
            "result_code": "0",
            "photos": ["http://x/p"],
        },
    )
    assert path == "/workorders/finish"
    assert body == {
        "msgId": "m1",
        "workOrderNo": "GS1",
        "msgType": "FINISH",
        "unitCode": "330424-12319",
        "sendTime": "2026-11-23 09:00:00",
        "handleResult": "已修复",
        "resultCode": "0",
        "finishTime": "2026-11-23 09:00:00",
        "attachments": ["http://x/p"],
    }


def test_the_class_comes_from_the_code_table_then_the_text_then_the_default() -> None:
    names = [("10118", "路灯"), ("10117", "立杆"), ("20102", "暴露垃圾")]
    table = PROFILE.codes.category
    assert suggest_category("城市管理-市政设施-路灯", "", table, names, "20102") == ("10118", "code_table")
    assert suggest_category("其他-其他-井盖", "", table, names, "20102") == ("10114", "code_table")
    assert suggest_category(None, "小区门口立杆倒了", table, names, "20102") == ("10117", "keyword")
    assert suggest_category("不认识", "说不清", table, names, "20199") == ("20199", "default")


def test_a_rework_order_names_its_original_by_the_profiles_pattern() -> None:
    from ticketing.exchange.domain.outbound import original_order

    assert original_order("【省12345工单编号：GS2026-1】又坏了", PROFILE.repeat_pattern) == "GS2026-1"
    assert original_order("路灯不亮", PROFILE.repeat_pattern) is None


def test_another_sites_names_are_data_not_code() -> None:
    """A site whose platform says SERIALNUM / RQSTCONTENT / nested caller fields needs only another profile."""
    fields = {**PROFILE.fields, "order": {"content": "RQSTCONTENT", "caller_no": "caller.phone", "due_at": "LIMIT"}}
    site = PROFILE.model_copy(
        update={
            "envelope": PROFILE.envelope.model_copy(update={"type": "TYPE", "id": "GUID", "order_no": "SERIALNUM"}),
            "kinds": {"10": "order"},
            "fields": fields,
        }
    )
    raw = {
        "TYPE": "10",
        "GUID": "g-1",
        "SERIALNUM": "330424-20261123-0001",
        "RQSTCONTENT": "井盖缺失",
        "caller": {"phone": "13700001111"},
        "LIMIT": "2026-11-24T17:30:00+08:00",
    }
    message = parse(raw, site)
    assert (message.kind, message.key, message.ext_order_no) == ("order", "g-1", "330424-20261123-0001")
    assert isinstance(message.body, Order) and message.body.caller_no == "13700001111"
    assert message.body.due_at == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
