"""The forced-choice decision on per-option log probabilities (engines.whisper.clear_winner). Pure.

The scores are those measured on the caller clips with CT2_FORCE_CPU_ISA=GENERIC|AVX|AVX2|AVX512."""

from __future__ import annotations

import pytest

from transcribe.engines.whisper import clear_winner

# 不满意 (a04) under AVX512: the answer is clear, but its four tokens together are a little under 3 % likely
NOT_SATISFIED = {"是的": -8.80, "不是": -5.79, "满意": -6.59, "不满意": -3.54, "转人工": -6.18}
# a complaint (c02, GENERIC): one option stands out from the others, but none is anywhere near said
COMPLAINT = {"是的": -12.1, "不是": -11.3, "满意": -8.80, "不满意": -11.33, "转人工": -12.6}


def test_a_clear_answer_wins_on_every_instruction_set() -> None:
    assert clear_winner(NOT_SATISFIED) == "不满意"


@pytest.mark.parametrize("delta", [-1.0, 1.0])
def test_the_decision_does_not_hang_on_a_kernels_rounding(delta: float) -> None:
    # another CPU's int8 kernels move every score a little: the same audio must give the same answer
    assert clear_winner({o: s + delta * (0.4 if o == "不满意" else -0.3) for o, s in NOT_SATISFIED.items()}) == "不满意"


def test_other_speech_is_no_answer_even_when_one_option_stands_out() -> None:
    assert clear_winner(COMPLAINT) is None


def test_two_options_about_as_likely_are_no_answer() -> None:
    assert clear_winner({"满意": -2.0, "不满意": -2.6, "是的": -9.0}) is None


def test_no_options_no_answer() -> None:
    assert clear_winner({}) is None
    assert clear_winner({"转人工": -1.0}) == "转人工"
