"""NotifyService: the use cases of the loop, each an idempotent step over the database with `now` passed in.

Entry points (the scheduler, the bus subscriber, the API, the telephony runtime) call these; nothing here
keeps state in memory that a restart could lose.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.engine import write_transaction
from core.db.timeutil import to_db
from core.errors import DomainError
from ticketing.domain.model import Actor, Role
from ticketing.domain.workflow import Command
from ticketing.notify import deadlines, outbox, reactions, webhooks
from ticketing.notify import scheduled_callbacks as cb
from ticketing.notify.channels import SmsChannel, build_channel
from ticketing.notify.domain.callback_lifecycle import CallbackEvent
from ticketing.notify.domain.delivery import dedup_key
from ticketing.notify.domain.survey import ANSWER_LABELS, Step, decide
from ticketing.notify.domain.window import next_in_window, parse_window
from ticketing.notify.messages import MessageTemplates
from ticketing.notify.settings import NotifySettings
from ticketing.services import CaseService

log = logging.getLogger("hotline.notify")
SYSTEM = Actor("system", Role.SYSTEM)


@dataclass
class NotifyService:
    engine: AsyncEngine
    cases: CaseService
    cfg: NotifySettings
    runtime: Callable[[], Any] = lambda: None  # the call runtime (web.keys.Running.calls) or None
    channel: SmsChannel | None = None
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)
    _hooks: aiohttp.ClientSession | None = field(default=None, repr=False)  # webhooks: guarded resolver
    inbox: asyncio.Queue[Any] | None = field(default=None, repr=False)  # the bus subscription, if any
    busy: bool = False
    _caught_up_to: datetime | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.templates = MessageTemplates(self.cfg.template_dir)
        self.tz = ZoneInfo(self.cases.settings.working_time.timezone)
        self.window = parse_window(self.cfg.callback_window)
        if self.channel is None:
            self.channel = build_channel(self.cfg, self.runtime, self.session)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def settled(self) -> None:
        """Wait until the bus subscriber has handled every case event published so far (tests, shutdown)."""
        while self.busy or (self.inbox is not None and not self.inbox.empty()):
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._hooks is not None:
            await self._hooks.close()

    # --- sweeps ---------------------------------------------------------------------------------------

    async def sweep_deadlines(self, now: datetime) -> deadlines.SweepReport:
        return await deadlines.sweep_deadlines(self.engine, self.cfg, now, self.tz)

    async def deliver_outbox(self, now: datetime) -> outbox.DeliveryReport:
        assert self.channel is not None
        return await outbox.deliver_outbox(self.engine, self.cfg, self.channel, now)

    async def deliver_webhooks(self, now: datetime) -> webhooks.WebhookReport:
        return await webhooks.deliver_webhooks(self.engine, self.cfg, self.webhook_session, now)

    def webhook_session(self) -> aiohttp.ClientSession:
        """Department webhooks get their own client: it refuses private and loopback addresses when it
        resolves a host (so a DNS answer cannot steer a delivery into our network) unless the site allows it."""
        if self._hooks is None or self._hooks.closed:
            self._hooks = webhooks.webhook_client(self.cfg)
        return self._hooks

    async def catch_up(self, now: datetime) -> int:
        """Replay recent case history through the reactions (all idempotent): nothing lost to a crash.

        After a start the whole `catch_up_hours` window is replayed; later runs only overlap the previous one
        by a few minutes (an optimisation only: correctness rests on the unique keys, not on this mark).
        """
        since = now - timedelta(hours=self.cfg.catch_up_hours)
        if self._caught_up_to is not None:
            since = max(since, self._caught_up_to - timedelta(minutes=10))
        async with self.engine.connect() as conn:
            events = await reactions.recent_history(conn, since)
        for event in events:
            await self.on_case_event(event["kind"], event["data"], event["at"], now)
        self._caught_up_to = now
        return len(events)

    # --- case events ----------------------------------------------------------------------------------

    async def on_case_event(self, kind: str, data: Mapping[str, Any], at: datetime, now: datetime) -> bool:
        """React to one case event: citizen SMS, department webhook, survey after closing. True when the event
        may have queued a delivery (so the delivery sweeps are worth waking); False for the many events that
        concern nobody outside (a case created, registered, …)."""
        if kind not in reactions.SMS_EVENTS and kind not in reactions.WEBHOOK_EVENTS:
            return False
        async with write_transaction(self.engine) as conn:
            facts = await reactions.load_facts(conn, data["case_no"])
            if facts is None:
                return False
            if kind in reactions.SMS_EVENTS:
                await self._enqueue_sms(conn, reactions.SMS_EVENTS[kind], facts, now)
            if kind in reactions.WEBHOOK_EVENTS:
                department = reactions.webhook_department(kind, data, facts)
                if department:
                    await webhooks.enqueue_delivery(
                        conn, reactions.webhook_row(kind, data, facts, department, at, now))
            if kind == "CaseClosed" and facts.caller_phone and facts.state == "closed":  # not if reopened since
                await cb.insert_callback(conn, self._survey(facts, now), now)
        return True

    async def _enqueue_sms(self, conn: Any, event: str, facts: reactions.CaseFacts, now: datetime) -> None:
        if event not in self.cfg.sms_events:
            return
        message = reactions.sms_message(event, facts, await self._text(event, facts), now)
        if message is not None:
            await outbox.enqueue_many(conn, [message])

    async def _text(self, event: str, facts: reactions.CaseFacts) -> str:
        reference = await self.cases.reference()
        category = reference.categories.get(facts.category_code)
        department = reference.departments.get(facts.department_code or "")  # code -> name
        due = facts.handling_due.astimezone(self.tz).strftime("%m月%d日%H:%M") if facts.handling_due else ""
        context = {"case_no": facts.case_no, "category_name": category.name if category else "",
                   "department_name": department, "result": facts.result, "due": due,
                   "address": facts.address, "county_name": self.cases.settings.cases.county_name}
        return self.templates.render(event, facts.category_code, context)

    def _survey(self, facts: reactions.CaseFacts, now: datetime) -> cb.NewCallback:
        due = next_in_window(now + timedelta(minutes=self.cfg.callback_delay_min), self.window, self.tz)
        assert facts.caller_phone is not None
        return cb.NewCallback("survey", facts.caller_phone, due, case_no=facts.case_no,
                              dedup_key=f"survey:{facts.case_no}:{facts.reopen_count}")

    # --- callbacks ------------------------------------------------------------------------------------

    async def schedule_callback(self, kind: str, number: str, due_at: datetime, call_id: str | None = None,
                                case_no: str | None = None, *, requested_by: str = "system") -> int | None:
        """Put a callback on the table (queue | missed | survey), moved into the calling window."""
        now = self.cases.clock()
        due = next_in_window(max(due_at, now), self.window, self.tz)
        key = f"{kind}:{call_id}" if call_id else None
        async with write_transaction(self.engine) as conn:
            return await cb.insert_callback(conn, cb.NewCallback(kind, number, due, case_no, call_id,
                                                                 requested_by, key), now)

    async def run_due_callbacks(self, now: datetime) -> int:
        """Start the callbacks due at `now`; a call whose lease ran out counts as not answered, a decision whose
        writer died is made again."""
        due = await cb.claim_due(self.engine, now, self.cfg.batch_size)
        for row in due.undecided:
            await self._decide(row, row["answer"], row["reason_path"], now)
        for callback_id in due.unanswered:
            await self.on_answer(callback_id, None, None)
        for row in due.to_dial:
            await self._start(row, now)
        return len(due.to_dial)

    async def _start(self, row: dict[str, Any], now: datetime) -> None:
        if row["kind"] == "survey" and not await self._still_closed(row, now):
            return
        runtime = self.runtime()
        method = "start_survey" if row["kind"] == "survey" else "start_callback"
        if runtime is None or not hasattr(runtime, method):
            await self._without_telephony(row, now)
            return
        if method == "start_callback":
            await self._call(runtime.start_callback(callback_id=row["id"], number=row["number"],
                                                    call_id=row["call_id"], on_answer=self.on_answer), row)
            return
        facts = await self._facts(row["case_no"])
        await self._call(runtime.start_survey(callback_id=row["id"], number=row["number"], case_no=row["case_no"],
                                              state=facts.state if facts else "", on_answer=self.on_answer,
                                              result_text=(facts.result or "") if facts else ""), row)

    async def _still_closed(self, row: dict[str, Any], now: datetime) -> bool:
        facts = await self._facts(row["case_no"])
        if facts is None or facts.state == "closed":
            return True
        await cb.advance(self.engine, row, CallbackEvent.CANCEL, now, last_error="案件已重新办理，取消本次回访")
        return False

    async def _call(self, started: Awaitable[Any], row: dict[str, Any]) -> None:
        try:
            await started
        except Exception as exc:  # a failed originate is an unanswered call: retried, then SMS
            log.warning("callback %s could not start: %s", row["id"], exc)
            await self.on_answer(row["id"], None, None)

    async def _without_telephony(self, row: dict[str, Any], now: datetime) -> None:
        if row["kind"] == "survey" and self.cfg.callback_sms_survey:
            await self._sms_survey(row, now)
            return
        await cb.advance(self.engine, row, CallbackEvent.GIVE_UP, now,
                         last_error="电话功能未启用，无法自动外呼，请人工回拨")

    async def on_answer(self, callback_id: int, answer: int | None, reason_path: str | None) -> None:
        """The runtime reports how a callback ended (answer 1|2|3, or None when nobody answered)."""
        now = self.cases.clock()
        row = await cb.take_calling(self.engine, callback_id, now, answer, reason_path)
        if row is not None:
            await self._decide(row, answer, reason_path, now)

    async def _decide(self, row: dict[str, Any], answer: int | None, reason_path: str | None,
                      now: datetime) -> None:
        if row["kind"] != "survey":
            await self._after_plain_call(row, answer, now)
            return
        decision = decide(answer, row["attempts"], self.cfg.callback_retries, self.cfg.callback_sms_survey)
        if decision.step is Step.RETRY:
            await self._retry(row, now)
        elif decision.step is Step.SMS:
            await self._sms_survey(row, now)
        elif decision.step is Step.GIVE_UP:
            await cb.advance(self.engine, row, CallbackEvent.GIVE_UP, now, last_error="多次回访无人接听")
        else:
            await self._rate(row, answer, reason_path, decision.reason, now)

    async def _after_plain_call(self, row: dict[str, Any], answer: int | None, now: datetime) -> None:
        if answer is not None:
            await cb.advance(self.engine, row, CallbackEvent.ANSWER, now, answer=answer)
        elif row["attempts"] <= self.cfg.callback_retries:
            await self._retry(row, now)
        else:
            await cb.advance(self.engine, row, CallbackEvent.GIVE_UP, now, last_error="多次回拨无人接听")

    async def _retry(self, row: dict[str, Any], now: datetime) -> None:
        due = next_in_window(now + timedelta(minutes=self.cfg.callback_retry_interval_min), self.window, self.tz)
        await cb.advance(self.engine, row, CallbackEvent.RETRY, now, due_at=to_db(due), last_error="无人接听，稍后重拨")

    async def _sms_survey(self, row: dict[str, Any], now: datetime) -> None:
        facts = await self._facts(row["case_no"])
        if facts is not None:
            body = await self._text("survey", facts)
            message = outbox.OutboxMessage(dedup_key(facts.case_no, f"survey{facts.reopen_count}", row["number"]),
                                           facts.case_no, "survey", "sms", "citizen", row["number"], body, now)
            await outbox.enqueue(self.engine, message)
        await cb.advance(self.engine, row, CallbackEvent.SMS_SURVEY, now, last_error="电话回访未接通，已发短信回访")

    async def _rate(self, row: dict[str, Any], answer: int | None, reason_path: str | None, reason: str | None,
                    now: datetime) -> None:
        error = None
        try:
            await self.cases.act(row["case_no"], Command("rate", SYSTEM, params={"satisfaction": answer}))
            if answer == 3:
                text = f"{reason}（原因录音：{reason_path}）" if reason_path else reason
                await self.cases.act(row["case_no"], Command("reopen", SYSTEM, reason=text))
        except DomainError as exc:
            error = f"回访结果未能写入案件：{exc}"
            log.warning("callback %s: %s", row["id"], error)
        await cb.advance(self.engine, row, CallbackEvent.ANSWER, now, answer=answer, reason_path=reason_path,
                         last_error=error or ANSWER_LABELS.get(answer or 0))

    async def _facts(self, case_no: str | None) -> reactions.CaseFacts | None:
        if case_no is None:
            return None
        async with self.engine.connect() as conn:
            return await reactions.load_facts(conn, case_no)

