"""Texts from citizens (the SMS gateway's callback, or SIP MESSAGE through Asterisk): answers to the SMS survey
(1/2/3 → rating, 不满意 → 重办), `查询 <编号>` (a progress reply), `TD`/`退订` (opt-out).

Each text is taken once per channel and provider message id, in one transaction with what it causes (the
rating and 重办, the reply in the outbox, the opt-out): a redelivered callback answers as the first time did.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.engine import write_transaction
from core.db.timeutil import from_db, to_db
from core.errors import DomainError
from ticketing.db.tables import case_stages, cases
from ticketing.domain.model import Actor, Role, State
from ticketing.domain.workflow import Command
from ticketing.notify import outbox
from ticketing.notify.domain.replies import Reply, ReplyKind, parse_reply
from ticketing.notify.sql import insert_ignore
from ticketing.notify.tables import sms_inbound, sms_optouts

log = logging.getLogger("hotline.sms")
SYSTEM = Actor("system", Role.SYSTEM)
RESULTS = {ReplyKind.OTHER: "无法识别的回复，已记录"}


@dataclass(frozen=True)
class TakenSms:
    kind: str
    case_no: str | None
    result: str
    duplicate: bool = False


class _Again(Exception):
    """The same text was taken by a concurrent delivery: answer from its row."""


async def take_sms(service: Any, channel: str, message_id: str, phone: str, text: str, now: datetime) -> TakenSms:
    """Take one inbound text exactly once (service: the NotifyService)."""
    earlier = await _stored(service.engine, channel, message_id)
    if earlier is not None:
        return earlier
    reply = parse_reply(text)
    try:
        if reply.kind is ReplyKind.RATING:
            return await _rating(service, channel, message_id, phone, text, reply, now)
        async with write_transaction(service.engine) as conn:
            return await _other(service, conn, channel, message_id, phone, text, reply, now)
    except _Again:
        stored = await _stored(service.engine, channel, message_id)
        assert stored is not None
        return stored


async def _stored(engine: Any, channel: str, message_id: str) -> TakenSms | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(sms_inbound).where(sms_inbound.c.channel == channel,
                                                            sms_inbound.c.message_id == message_id))).first()
    return None if row is None else TakenSms(row.kind, row.case_no, row.result or "", duplicate=True)


async def _log(conn: AsyncConnection, channel: str, message_id: str, phone: str, text: str, kind: str,
               case_no: str | None, result: str, now: datetime) -> TakenSms:
    stmt = insert_ignore(conn, sms_inbound).values(
        channel=channel, message_id=message_id, phone=phone, text=text[:2000], kind=kind, case_no=case_no,
        result=result, received_at=to_db(now)).on_conflict_do_nothing()
    if (await conn.execute(stmt)).rowcount != 1:
        raise _Again()
    return TakenSms(kind, case_no, result)


async def _rating(service: Any, channel: str, message_id: str, phone: str, text: str, reply: Reply,
                  now: datetime) -> TakenSms:
    case_no = await _surveyed_case(service, phone, now)
    if case_no is None:
        async with write_transaction(service.engine) as conn:
            return await _log(conn, channel, message_id, phone, text, "rating", None, "没有待评价的案件，已记录", now)
    commands = [Command("rate", SYSTEM, params={"satisfaction": reply.rating})]
    if reply.rating == 3:
        commands.append(Command("reopen", SYSTEM, reason=f"短信回访不满意：{reply.words or '市民回复不满意'}"))
    result = {1: "满意，已记录", 2: "基本满意，已记录", 3: "不满意，已重办"}[reply.rating or 1]
    taken: list[TakenSms] = []

    async def record(conn: AsyncConnection) -> None:
        taken.append(await _log(conn, channel, message_id, phone, text, "rating", case_no, result, now))

    try:
        await service.cases.act_all(case_no, commands, also=record)
    except DomainError as exc:
        async with write_transaction(service.engine) as conn:
            return await _log(conn, channel, message_id, phone, text, "rating", case_no,
                              f"评价未能写入：{exc.message}", now)
    return taken[0]


async def _surveyed_case(service: Any, phone: str, now: datetime) -> str | None:
    """The caller's latest closed case still without a rating, inside the reopen window."""
    window = service.cases.settings.cases.reopen_window_days
    async with service.engine.connect() as conn:
        row = (await conn.execute(select(cases.c.case_no, cases.c.closed_at).where(
            cases.c.caller_phone == phone, cases.c.state == State.CLOSED.value, cases.c.satisfaction.is_(None))
            .order_by(cases.c.closed_at.desc()).limit(1))).first()
    if row is None or (now - from_db(row.closed_at)).days > window:  # type: ignore[operator]
        return None
    return row.case_no


async def _other(service: Any, conn: AsyncConnection, channel: str, message_id: str, phone: str, text: str,
                 reply: Reply, now: datetime) -> TakenSms:
    if reply.kind is ReplyKind.OPT_OUT:
        await conn.execute(insert_ignore(conn, sms_optouts).values(
            phone=phone, reason="市民短信退订", created_by=f"sms:{channel}", created_at=to_db(now)
        ).on_conflict_do_nothing())
        return await _log(conn, channel, message_id, phone, text, "opt_out", None, "已退订短信通知", now)
    if reply.kind is ReplyKind.QUERY:
        assert reply.case_no is not None
        body, found = await _progress_text(service, conn, reply.case_no, phone)
        key = f"reply:{channel}:{message_id}"[:200]
        await outbox.enqueue_many(conn, [outbox.OutboxMessage(key, reply.case_no if found else None, "reply", "sms",
                                                              "citizen", phone, body, now)])
        result = "已回复办理进度" if found else "案件编号与本机号码不符，已回复"
        return await _log(conn, channel, message_id, phone, text, "query", reply.case_no if found else None, result,
                          now)
    return await _log(conn, channel, message_id, phone, text, "other", None, RESULTS[ReplyKind.OTHER], now)


async def _progress_text(service: Any, conn: AsyncConnection, case_no: str, phone: str) -> tuple[str, bool]:
    """The progress reply: only for the number that reported the case (nothing about others' cases)."""
    row = (await conn.execute(select(cases).where(cases.c.case_no == case_no))).mappings().first()
    county = service.cases.settings.cases.county_name
    if row is None or row["caller_phone"] != phone:
        return service.templates.render("query_unknown", "", {"case_no": case_no, "county_name": county}), False
    reference = await service.cases.reference()
    category = reference.categories.get(row["category_code"])
    due = (await conn.execute(select(case_stages.c.due_at).where(
        case_stages.c.case_id == row["id"], case_stages.c.finished_at.is_(None)).order_by(case_stages.c.id.desc())
        .limit(1))).scalar()
    context = {"case_no": case_no, "county_name": county, "category_name": category.name if category else "",
               "state_label": State(row["state"]).label,
               "due": from_db(due).astimezone(service.tz).strftime("%m月%d日%H:%M") if due else ""}
    return service.templates.render("progress", row["category_code"], context), True
