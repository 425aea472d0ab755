"""What an inbound answer from the platform does to our case, decided without I/O.

Messages may arrive out of order: a 回访 before the platform has acknowledged our 办结 (or before we closed
at all) is *held* and applied once both are true; a 延期 answer for a case already closed is only recorded.
The platform decides for its own orders as the approving authority (its "yes" to 延期 or 退回 is the
approval), so those commands are issued as the link's actor with the lead's rights; ratings and 重办 are
issued as the system, like our own 回访.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ticketing.exchange.domain.inbound import Body, ExtensionAnswer, ReturnAnswer, Revoke, Visit

EARLY_STATES = frozenset({"reported", "accepted", "registered"})  # where 作废 is possible


class Verdict(StrEnum):
    APPLY = "apply"  # run the commands now
    HOLD = "hold"  # keep the message; try again when the case (or our delivery) has moved on
    RECORD = "record"  # nothing to change: keep it in the log with the note


@dataclass(frozen=True)
class CaseSide:
    """What the decision needs to know about the case and our side of the exchange."""

    state: str
    pending: frozenset[str]  # kinds of pending requests: extension, return, invalidation …
    finish_acked: bool  # the platform acknowledged our latest 办结
    ext_due_at: datetime | None = None


@dataclass(frozen=True)
class Act:
    command: str
    by: str  # "system" | "link"
    reason: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    note: str
    acts: tuple[Act, ...] = ()
    ext_due_at: datetime | None = None  # set the platform's deadline to this


def decide(body: Body, case: CaseSide) -> Decision:
    if isinstance(body, Visit):
        return _visit(body, case)
    if isinstance(body, ExtensionAnswer):
        return _extension(body, case)
    if isinstance(body, ReturnAnswer):
        return _return(body, case)
    if isinstance(body, Revoke):
        return _revoke(body, case)
    return Decision(Verdict.RECORD, "重复派单，已有对应案件")


def _visit(body: Visit, case: CaseSide) -> Decision:
    if case.state != "closed" or not case.finish_acked:
        return Decision(Verdict.HOLD, "回访结果先于办结确认到达，暂存，待办结确认后处理")
    acts = [Act("rate", "system", params={"satisfaction": body.satisfaction})]
    if body.satisfaction == 3:
        acts.append(Act("reopen", "system", reason=f"12345回访不满意：{body.opinion or '市民不满意'}"))
    return Decision(Verdict.APPLY, "回访不满意，已重办" if body.satisfaction == 3 else "回访结果已记录", tuple(acts))


def _extension(body: ExtensionAnswer, case: CaseSide) -> Decision:
    if case.state in ("closed", "invalid"):
        return Decision(Verdict.RECORD, "延期审核结果到达时案件已办结或作废，仅记录")
    due = body.due_at if body.approved else None
    if "extension" not in case.pending or case.state != "dispatched":
        note = "12345同意延期，已更新12345办理时限" if body.approved else "12345不同意延期，仅记录"
        return Decision(Verdict.APPLY if due else Verdict.RECORD, note, (), due)
    if body.approved:
        return Decision(Verdict.APPLY, "12345同意延期", (Act("approve_extension", "link"),), due)
    reason = f"12345不同意延期：{body.opinion or '未说明理由'}"
    return Decision(Verdict.APPLY, "12345不同意延期", (Act("refuse_extension", "link", reason=reason),))


def _return(body: ReturnAnswer, case: CaseSide) -> Decision:
    reason = f"12345审核退回：{body.opinion or ('同意' if body.approved else '不同意')}"
    if "invalidation" in case.pending and case.state in EARLY_STATES - {"registered"}:
        command = "approve_invalidation" if body.approved else "refuse_invalidation"
        return Decision(Verdict.APPLY, reason, (Act(command, "link", reason=reason),))
    if body.approved and case.state in EARLY_STATES:
        return Decision(Verdict.APPLY, reason, (Act("invalidate", "link", reason=reason),))
    return Decision(Verdict.RECORD, reason + "（案件状态不需变更，仅记录）")


def _revoke(body: Revoke, case: CaseSide) -> Decision:
    reason = f"12345撤单：{body.reason or '未说明理由'}"
    if case.state in EARLY_STATES:
        return Decision(Verdict.APPLY, reason, (Act("invalidate", "link", reason=reason),))
    return Decision(Verdict.RECORD, reason + "（案件已在处置或已办结，请人工与12345协调）")
