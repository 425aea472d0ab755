"""What a callback's outcome leads to: rate (and 重办 on 不满意), another try, or an SMS survey."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ANSWER_LABELS = {1: "满意", 2: "基本满意", 3: "不满意"}


class Step(StrEnum):
    RATE = "rate"  # store the rating
    RATE_AND_REOPEN = "rate_and_reopen"  # 不满意: rate 3, then 重办 to the same department
    RETRY = "retry"  # no answer, try again later
    SMS = "sms"  # no answer and no tries left: send the SMS survey
    GIVE_UP = "give_up"  # no answer, no tries left, no SMS survey


@dataclass(frozen=True, slots=True)
class Decision:
    step: Step
    reason: str | None = None


def decide(answer: int | None, attempts: int, retries: int, sms_survey: bool) -> Decision:
    """After `attempts` calls (this one included) with `retries` extra calls allowed, decide the next step."""
    if answer in (1, 2):
        return Decision(Step.RATE)
    if answer == 3:
        return Decision(Step.RATE_AND_REOPEN, "回访不满意，市民要求重办")
    if attempts <= retries:
        return Decision(Step.RETRY)
    return Decision(Step.SMS if sms_survey else Step.GIVE_UP)
