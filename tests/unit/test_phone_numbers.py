"""Caller-ID normalisation (core.phone): every form a carrier sends becomes one national form."""

from __future__ import annotations

import pytest

from core.phone import dial_forms, normalize_number, number_kind
from core.privacy import mask_phone


@pytest.mark.parametrize(
    ("raw", "national", "kind"),
    [
        ("+8613800138000", "13800138000", "mobile"),
        ("008613800138000", "13800138000", "mobile"),
        ("8613800138000", "13800138000", "mobile"),
        ("013800138000", "13800138000", "mobile"),
        ("138 0013 8000", "13800138000", "mobile"),
        ("+86 573 8201 2345", "057382012345", "fixed"),
        ("0573-82012345", "057382012345", "fixed"),
        ("82012345", "057382012345", "fixed"),
        ("+861012345678", "01012345678", "fixed"),
        ("sip:+8657382012345@10.0.0.1;user=phone", "057382012345", "fixed"),
        ("tel:12319", "12319", "service"),
        ("110", "110", "service"),
        ("95598", "95598", "service"),
        ("+85212345678", "+85212345678", "international"),
        ("0085212345678", "+85212345678", "international"),
        ("anonymous", "anonymous", "unknown"),
    ],
)
def test_every_form_becomes_the_national_one(raw: str, national: str, kind: str) -> None:
    assert normalize_number(raw) == national
    assert number_kind(national) == kind
    assert normalize_number(national) == national, "normalising is idempotent"


def test_a_local_number_takes_the_configured_area_code() -> None:
    assert normalize_number("82012345", area_code="0571") == "057182012345"
    assert normalize_number("", "0573") == "" and normalize_number(None) == ""


def test_dial_forms_of_a_did_cover_what_carriers_send() -> None:
    forms = dial_forms("0573-82012319")
    assert forms[0] == "057382012319"
    assert {"+8657382012319", "008657382012319", "8657382012319", "82012319"} <= set(forms)
    assert dial_forms("12319") == ("12319",)
    assert all(normalize_number(f) == "057382012319" for f in forms)


def test_masking_sees_the_same_form_for_every_spelling() -> None:
    assert {mask_phone(n) for n in ("+8613800138000", "008613800138000", "13800138000")} == {"138****8000"}
