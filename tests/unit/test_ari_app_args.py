"""Stasis application arguments: one typed codec, round trips for every leg kind, unknown arguments refused."""

from __future__ import annotations

import pytest

from callcenter.ari.app_args import AppArgs, LegKind, decode, decode_app_data, in_app


@pytest.mark.parametrize("kind", [k for k in LegKind if k not in (LegKind.CALLER, LegKind.QUEUE)])
def test_every_leg_kind_round_trips_with_its_call(kind: LegKind) -> None:
    args = AppArgs(kind, "c0ffee")
    assert decode(args.encode().split(",")) == args and not args.is_caller
    assert decode_app_data(f"hotline,{args.encode()}") == args


def test_callers_from_the_dialplan_start_calls() -> None:
    assert decode(()) == AppArgs(LegKind.CALLER) and decode(()).is_caller  # type: ignore[union-attr]
    assert decode(["queue"]) == AppArgs(LegKind.QUEUE) and decode_app_data("hotline,queue") == AppArgs(LegKind.QUEUE)
    assert decode_app_data("hotline") == AppArgs(LegKind.CALLER)
    assert AppArgs(LegKind.SUPERVISOR).encode() == "supervisor"


@pytest.mark.parametrize("args", [["fax"], ["queue", "c1"], ["agent", "c1", "extra"]])
def test_arguments_we_never_encode_are_refused(args: list[str]) -> None:
    assert decode(args) is None


def test_only_our_application_counts() -> None:
    assert in_app("hotline,agent,c1", "hotline") and not in_app("hotline-speech,snoop,c1", "hotline")
