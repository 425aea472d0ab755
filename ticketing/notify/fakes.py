"""Fakes for tests and demos: a dialer standing in for the call runtime, and a case driver."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ticketing.domain.model import Actor, Role
from ticketing.domain.workflow import Command
from ticketing.services import CaseService, NewCase

AGENT = Actor("agent01", Role.AGENT)
LEAD = Actor("lead01", Role.LEAD)
DISPATCHER = Actor("dispatcher01", Role.DISPATCHER)
INSPECTOR = Actor("inspector01", Role.INSPECTOR)
CHECK_PHOTO = "0" * 32  # a photo id: 核查 answers carry photos by default


def department(code: str) -> Actor:
    return Actor(f"dept-{code}", Role.DEPARTMENT, code)


@dataclass
class FakeDialer:
    """Plays the call runtime: records survey calls and SIP messages; the test answers for the citizen."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    fail_messages: bool = False

    async def start_survey(self, *, callback_id: int, number: str, case_no: str | None, state: str,
                           result_text: str, on_answer: Callable[[int, int | None, str | None], Awaitable[None]]
                           ) -> None:
        self.calls.append({"callback_id": callback_id, "number": number, "case_no": case_no, "state": state,
                           "result_text": result_text, "on_answer": on_answer})

    async def answer(self, answer: int | None, reason_path: str | None = None) -> None:
        """The last call ends with this answer (None: nobody picked up)."""
        call = self.calls[-1]
        await call["on_answer"](call["callback_id"], answer, reason_path)

    async def send_sip_message(self, *, to_endpoint_or_uri: str, body: str, sender: str) -> None:
        if self.fail_messages:
            raise RuntimeError("endpoint not reachable")
        self.messages.append({"to": to_endpoint_or_uri, "body": body, "sender": sender})


async def new_case(cases: CaseService, *, category: str = "20505", phone: str | None = "13800000000",
                   accept: bool = True) -> str:
    created = await cases.create(NewCase("hotline", "勤俭路占道经营", category, caller_phone=phone,
                                         address="勤俭路88号", accept=accept), AGENT)
    return created.case_no


async def drive(cases: CaseService, case_no: str, steps: Iterable[tuple[str, Actor, dict[str, Any]]]) -> None:
    for name, actor, params in steps:
        reason = params.pop("reason", None)
        await cases.act(case_no, Command(name, actor, reason=reason, params=params))


def to_dispatched(dept: str = "zfj") -> list[tuple[str, Actor, dict[str, Any]]]:
    return [("register", LEAD, {}), ("dispatch", DISPATCHER, {"department": dept})]


def to_closed(dept: str = "zfj") -> list[tuple[str, Actor, dict[str, Any]]]:
    return [*to_dispatched(dept), ("acknowledge", department(dept), {}),
            ("submit_result", department(dept), {"notes": "已劝离摊贩并清理路面"}),
            ("request_check", AGENT, {}), ("check_pass", INSPECTOR, {"photos": [CHECK_PHOTO]}), ("close", LEAD, {})]
