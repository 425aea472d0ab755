"""ExchangeService: work orders in from the 12345 platform (push or pull) and our answers out.

Inbound: every message is parsed at the boundary (domain/inbound.py), then taken in ONE transaction with what
it causes: the log row (unique by the message's key), the case and the order record, or the commands a 回访 or
延期 answer leads to. A replay finds its first log row and gets the same answer; nothing is half-applied.
Outbound: a case command on a 12345 case writes its message row in the command's own transaction (the hook
`on_command`, registered on the CaseService), and the delivery sweep (delivery.py) sends it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.engine import write_transaction
from core.db.timeutil import from_db, to_db
from core.errors import DomainError, InvalidParameters, NotFound
from ticketing.db.tables import case_history, case_requests, case_stages, cases
from ticketing.domain.commands import Command, Outcome
from ticketing.domain.model import Actor, Role
from ticketing.evaluation import facts as evaluation_facts
from ticketing.exchange import attachments
from ticketing.exchange.attachments import ImageStore
from ticketing.exchange.domain import signing
from ticketing.exchange.domain.decide import CaseSide, Decision, Verdict, decide
from ticketing.exchange.domain.inbound import BadMessage, Inbound, Order, parse
from ticketing.exchange.domain.lifecycle import OutState
from ticketing.exchange.domain.outbound import original_order, suggest_category
from ticketing.exchange.links import Link, build_links
from ticketing.exchange.settings import ExchangeSettings, LinkSettings
from ticketing.exchange.tables import exchange_inbound, exchange_orders, exchange_outbound
from ticketing.notify import outbox
from ticketing.notify.sql import insert_ignore
from ticketing.services import CaseService, Created, NewCase

log = logging.getLogger("hotline.exchange")
SYSTEM = Actor("system", Role.SYSTEM)
RAW_LOG_CHARS = 4000  # how much of a refused message the log row keeps
# Our commands that send a step to the platform (the platform's own decisions are not echoed back).
STEP_OF = {
    "request_invalidation": "return",
    "invalidate": "return",
    "merge": "return",
    "request_extension": "extension",
    "close": "finish",
    "accept": "sign",
}


@dataclass(frozen=True)
class Answer:
    """What we answer the platform (HTTP status and body) for one inbound message."""

    status: int
    result: str  # created | applied | held | recorded | duplicate | rejected
    case_no: str | None = None
    note: str | None = None
    error: str | None = None

    def body(self) -> dict[str, Any]:
        if self.error is not None:  # the platform's shape for errors is ours: {"error": {code, message}}
            return {"error": {"code": self.error, "message": self.note}}
        return {"success": True, "code": "0", "result": self.result, "case_no": self.case_no, "message": self.note}


class _Replayed(Exception):
    """Another taker stored this message first (concurrent duplicate): roll back and answer as it did."""


@dataclass
class ExchangeService:
    engine: AsyncEngine
    cases: CaseService
    settings: ExchangeSettings
    wall: Callable[[], float] = time.time  # transport freshness (signature windows) is wall time
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)
    # Where fetched attachments are stored (the web layer's photo storage); without one nothing is fetched.
    image_store: ImageStore | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.links: dict[str, Link] = build_links(self.settings)
        self._fetchers: dict[int, aiohttp.ClientSession] = {}

    def link(self, system: str) -> Link:
        link = self.links.get(system)
        if link is None:
            raise NotFound(f"未配置或未启用的对接平台：{system}")
        return link

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    def attachment_session(self, cfg: LinkSettings) -> aiohttp.ClientSession:
        """The client for attachment downloads: guarded against private addresses unless the link allows them."""
        key = 1 if cfg.attachment_allow_private else 0
        session = self._fetchers.get(key)
        if session is None or session.closed:
            session = self._fetchers[key] = attachments.client(cfg)
        return session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        for session in self._fetchers.values():
            await session.close()
        self._fetchers.clear()

    # --- inbound ----------------------------------------------------------------------------------------

    async def receive_push(self, system: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """A signed POST from the platform: check the signature and freshness, then take the message."""
        link = self.links.get(system)
        if link is None or link.cfg.inbound == "pull":
            return await self._refuse(system, "push", "unknown_link", f"未启用推送接收：{system}", body, 404)
        sig = link.profile.signing
        if not link.cfg.secret and sig.scheme != "none":
            return await self._refuse(system, "push", "not_configured", "对接密钥未配置，拒绝接收", body, 403)
        problem = signing.check(
            sig.scheme,
            link.cfg.secret,
            headers.get(sig.timestamp_header),
            body,
            headers.get(sig.signature_header),
            self.wall(),
            sig.window_s,
        )
        if problem is not None:
            return await self._refuse(system, "push", "bad_signature", problem, body, 401)
        try:
            raw = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return await self._refuse(system, "push", "bad_json", "报文不是 UTF-8 编码的 JSON", body, 400)
        return await self.receive(link, raw, "push")

    async def receive(self, link: Link, raw: object, transport: str, *, again: bool = False) -> Answer:
        """Take one message (pushed or pulled) exactly once."""
        try:
            message = parse(raw, link.profile)
        except BadMessage as exc:
            return await self._refuse(link.name, transport, exc.code, exc.message, raw, 422)
        earlier = await self._stored(link.name, message.key)
        if earlier is not None:
            return earlier
        try:
            if message.kind == "order":
                return await self._take_order(link, message, transport, look_up=again)
            return await self._take_answer(link, message, transport)
        except _Replayed:
            stored = await self._stored(link.name, message.key)
            assert stored is not None
            return stored
        except IntegrityError:
            # The same 工单 under another message id was taken at the same moment (unique order number):
            # everything of this one was rolled back; taken again, it finds that order and is recorded.
            if again:
                raise
            return await self.receive(link, raw, transport, again=True)
        except DomainError as exc:
            return await self._refuse(
                link.name,
                transport,
                exc.code,
                exc.message,
                raw,
                exc.status,
                kind=message.kind,
                order_no=message.ext_order_no,
            )

    async def _stored(self, system: str, key: str) -> Answer | None:
        async with self.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(exchange_inbound).where(
                            exchange_inbound.c.system == system, exchange_inbound.c.message_key == key
                        )
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return Answer(200, "duplicate", row["case_no"], f"重复报文（首次处理结果：{row['state']}）{row['note'] or ''}")

    async def _refuse(
        self,
        system: str,
        transport: str,
        code: str,
        message: str,
        raw: object,
        status: int,
        *,
        kind: str | None = None,
        order_no: str | None = None,
    ) -> Answer:
        """Answer a message we cannot take, and keep a log row of it (in its own transaction)."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        payload = {"text": str(text)[:RAW_LOG_CHARS]} if not isinstance(text, dict) else {"json": text}
        now = self.cases.clock()
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                exchange_inbound.insert().values(
                    system=system[:16],
                    message_key=None,
                    kind=kind,
                    ext_order_no=order_no,
                    transport=transport,
                    state="rejected",
                    note=message,
                    error_code=code[:32],
                    payload=payload,
                    received_at=to_db(now),
                )
            )
        log.warning("exchange %s: refused a %s message: %s (%s)", system, transport, message, code)
        return Answer(status, "rejected", None, message, code)

    async def _log_row(
        self,
        conn: AsyncConnection,
        link: Link,
        message: Inbound,
        transport: str,
        state: str,
        case_no: str | None,
        note: str,
        now: datetime,
    ) -> None:
        stmt = insert_ignore(conn, exchange_inbound).values(
            system=link.name,
            message_key=message.key,
            kind=message.kind,
            ext_order_no=message.ext_order_no,
            case_no=case_no,
            transport=transport,
            state=state,
            note=note,
            payload=message.raw,
            received_at=to_db(now),
            applied_at=to_db(now) if state in ("created", "applied") else None,
        )
        result = await conn.execute(stmt.on_conflict_do_nothing())
        if result.rowcount != 1:
            raise _Replayed()

    async def _take_order(self, link: Link, message: Inbound, transport: str, *, look_up: bool) -> Answer:
        """A new order becomes a case. The same 工单 under another message id is rare: it is not looked up
        first; the order number's unique key refuses it, everything rolls back, and it is taken again with
        the look-up (`look_up`), which records it against the existing case."""
        order = message.body
        assert isinstance(order, Order)
        existing = await self._order(link.name, message.ext_order_no) if look_up else None
        now = self.cases.clock()
        if existing is not None:  # the same 工单 again under another message id
            async with write_transaction(self.engine) as conn:
                await self._log_row(
                    conn, link, message, transport, "recorded", existing["case_no"], "重复派单，已有对应案件", now
                )
            return Answer(200, "recorded", existing["case_no"], "重复派单，已有对应案件")
        repeat_of = original_order(f"{order.title or ''}{order.content}", link.profile.repeat_pattern)
        earlier = await self._order(link.name, repeat_of) if repeat_of else None
        new, basis = await self._new_case(link, message, order, earlier)

        async def record(conn: AsyncConnection, created: Created) -> None:
            await self._log_row(
                conn, link, message, transport, "created", created.case_no, f"已生成案件 {created.case_no}", now
            )
            await conn.execute(
                exchange_orders.insert().values(
                    system=link.name,
                    ext_order_no=message.ext_order_no,
                    case_no=created.case_no,
                    appeal_type=order.appeal_type,
                    ext_category=order.category,
                    category_basis=basis,
                    repeat_of=repeat_of,
                    ext_due_at=to_db(order.due_at),
                    raw=message.raw,
                    created_at=to_db(now),
                    updated_at=to_db(now),
                    attachments=[{"name": a.name, "url": a.url} for a in order.attachments],
                )
            )
            await attachments.enqueue_attachments(
                conn, link, message.ext_order_no, created.case_no, order.attachments, now
            )
            if link.cfg.auto_sign:
                await enqueue(
                    conn,
                    link.name,
                    message.ext_order_no,
                    created.case_no,
                    "sign",
                    f"{link.name}:{created.case_no}:v1:sign",
                    {"at": now, "actor": "12319"},
                    now,
                )

        created = await self.cases.create(new, SYSTEM, also=record)
        return Answer(200, "created", created.case_no, f"已生成案件 {created.case_no}")

    async def _new_case(
        self, link: Link, message: Inbound, order: Order, earlier: Mapping[str, Any] | None
    ) -> tuple[NewCase, str]:
        reference = await self.cases.reference()
        names = [(c.code, c.name) for c in reference.categories.values() if c.active]
        code, basis = suggest_category(
            order.category, order.content, link.profile.codes.category, names, link.cfg.default_category
        )
        if code not in reference.categories:
            code, basis = link.cfg.default_category, "default"
        title = f"【{link.profile.label} {message.ext_order_no}】"
        if earlier is not None:  # 重办 as a new order: point at the case that handled the original
            title += f"【重办：原工单 {earlier['ext_order_no']}，原案件 {earlier['case_no']}】"
        kind = f"（{order.appeal_type}）" if order.appeal_type else ""
        description = (title + kind + (order.title + "：" if order.title else "") + order.content)[:4000]
        phone = order.contact_no or order.caller_no
        return NewCase(
            source="12345",
            description=description,
            category_code=code,
            caller_phone=phone,
            caller_name=None if order.anonymous else order.citizen_name,
            address=order.address,
            lat=order.lat,
            lon=order.lon,
            external_id=message.ext_order_no,
        ), basis

    async def _order(self, system: str, order_no: str) -> Mapping[str, Any] | None:
        async with self.engine.connect() as conn:
            return (
                (
                    await conn.execute(
                        select(exchange_orders).where(
                            exchange_orders.c.system == system, exchange_orders.c.ext_order_no == order_no
                        )
                    )
                )
                .mappings()
                .first()
            )

    async def _take_answer(self, link: Link, message: Inbound, transport: str) -> Answer:
        order = await self._order(link.name, message.ext_order_no)
        now = self.cases.clock()
        if order is None:  # the answer overtook its order (pull and push both in use): keep it for later
            async with write_transaction(self.engine) as conn:
                await self._log_row(conn, link, message, transport, "held", None, "对应工单尚未收到，暂存", now)
            return Answer(200, "held", None, "对应工单尚未收到，暂存")
        decision = decide(message.body, await self._case_side(link.name, order))
        await self._carry_out(link, message, order, decision, now, transport=transport)
        return Answer(200, _RESULT[decision.verdict], order["case_no"], decision.note)

    async def _carry_out(
        self,
        link: Link,
        message: Inbound,
        order: Mapping[str, Any],
        decision: Decision,
        now: datetime,
        *,
        transport: str | None = None,
        held_id: int | None = None,
    ) -> None:
        """Write the decision: the commands, the deadline, and the log row (new, or the held one moved on)."""
        state = _RESULT[decision.verdict]

        async def record(conn: AsyncConnection) -> None:
            if held_id is None:
                assert transport is not None
                await self._log_row(conn, link, message, transport, state, order["case_no"], decision.note, now)
            else:
                moved = await conn.execute(
                    update(exchange_inbound)
                    .where(exchange_inbound.c.id == held_id, exchange_inbound.c.state == "held")
                    .values(state=state, note=decision.note, case_no=order["case_no"], applied_at=to_db(now))
                )
                if moved.rowcount != 1:
                    raise _Replayed()
            if decision.notify:
                await _tell_handler(conn, order["case_no"], message.key, decision.note, now)
            if decision.ext_due_at is not None:
                await conn.execute(
                    update(exchange_orders)
                    .where(exchange_orders.c.id == order["id"])
                    .values(ext_due_at=to_db(decision.ext_due_at), updated_at=to_db(now))
                )
                await cap_handling_due(conn, order["case_no"], decision.ext_due_at)

        commands = [
            Command(a.command, SYSTEM if a.by == "system" else self._link_actor(link), reason=a.reason, params=a.params)
            for a in decision.acts
        ]
        if decision.verdict is Verdict.APPLY and commands:
            await self.cases.act_all(order["case_no"], commands, also=record)
            return
        async with write_transaction(self.engine) as conn:
            await record(conn)

    @staticmethod
    def _link_actor(link: Link) -> Actor:
        # The platform is the approving authority for its own orders (延期, 退回, 撤单): its answers act with
        # the lead's rights, under the link's name so history shows who decided.
        return Actor(link.name, Role.LEAD)

    async def _case_side(self, system: str, order: Mapping[str, Any]) -> CaseSide:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(cases.c.id, cases.c.state).where(cases.c.case_no == order["case_no"]))
            ).first()
            if row is None:
                raise NotFound(f"案件 {order['case_no']} 不存在")
            pending = set(
                (
                    await conn.execute(
                        select(case_requests.c.kind).where(
                            case_requests.c.case_id == row.id, case_requests.c.state == "pending"
                        )
                    )
                ).scalars()
            )
            finish = (
                await conn.execute(
                    select(exchange_outbound.c.state)
                    .where(
                        exchange_outbound.c.system == system,
                        exchange_outbound.c.case_no == order["case_no"],
                        exchange_outbound.c.step == "finish",
                    )
                    .order_by(exchange_outbound.c.id.desc())
                    .limit(1)
                )
            ).scalar()
        return CaseSide(row.state, frozenset(pending), finish == OutState.ACKED.value, from_db(order["ext_due_at"]))

    async def apply_held(self, now: datetime) -> int:
        """Take held messages again (a 回访 waiting for our 办结's acknowledgement, an answer that overtook its
        order): those whose case has moved on are applied; the rest stay held. Returns how many moved on."""
        async with self.engine.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        select(exchange_inbound)
                        .where(exchange_inbound.c.state == "held")
                        .order_by(exchange_inbound.c.id)
                        .limit(500)
                    )
                )
                .mappings()
                .all()
            )
        moved = 0
        for row in rows:
            link = self.links.get(row["system"])
            if link is None:
                continue
            try:
                moved += await self._retry_held(link, row, now)
            except DomainError as exc:
                log.warning("exchange: held message %s could not be applied: %s", row["id"], exc.message)
        return moved

    async def _retry_held(self, link: Link, row: Mapping[str, Any], now: datetime) -> int:
        message = parse(row["payload"], link.profile)
        order = await self._order(link.name, message.ext_order_no)
        if order is None:
            return 0
        decision = decide(message.body, await self._case_side(link.name, order))
        if decision.verdict is Verdict.HOLD:
            return 0
        try:
            await self._carry_out(link, message, order, decision, now, held_id=row["id"])
        except _Replayed:
            return 0
        return 1

    # --- outbound: written with the case command ----------------------------------------------------------

    async def on_command(self, conn: AsyncConnection, outcome: Outcome) -> None:
        """CaseService hook: a command on a case that came from a link queues that link's step, in the same
        transaction. Commands the link itself caused (its actor) are not echoed back."""
        step = STEP_OF.get(outcome.history.command)
        if outcome.history.command == "dispatch":
            await self._cap_on_dispatch(conn, outcome.case.case_no)
        if step is None or outcome.history.actor in self.links:
            return
        order = (
            (await conn.execute(select(exchange_orders).where(exchange_orders.c.case_no == outcome.case.case_no)))
            .mappings()
            .first()
        )
        if order is None or order["system"] not in self.links:
            return
        link = self.links[order["system"]]
        if step == "sign" and link.cfg.auto_sign:
            return
        values = await self._values(conn, link, step, outcome)
        message_id = f"{link.name}:{outcome.case.case_no}:v{outcome.case.version}:{step}"
        await enqueue(
            conn, link.name, order["ext_order_no"], outcome.case.case_no, step, message_id, values, outcome.history.at
        )

    async def _cap_on_dispatch(self, conn: AsyncConnection, case_no: str) -> None:
        due = (
            await conn.execute(select(exchange_orders.c.ext_due_at).where(exchange_orders.c.case_no == case_no))
        ).scalar()
        if due is not None:
            await cap_handling_due(conn, case_no, from_db(due))

    async def _values(self, conn: AsyncConnection, link: Link, step: str, outcome: Outcome) -> dict[str, Any]:
        history = outcome.history
        values: dict[str, Any] = {"at": history.at, "actor": history.actor, "reason": history.reason}
        if step == "extension":
            unit = str(history.payload.get("unit") or "")
            values |= {"value": history.payload.get("value"), "unit": link.profile.limit_units.get(unit, unit)}
        if step == "finish":
            result = (
                await conn.execute(
                    select(case_history.c.payload)
                    .join(cases, cases.c.id == case_history.c.case_id)
                    .where(cases.c.case_no == outcome.case.case_no, case_history.c.command == "submit_result")
                    .order_by(case_history.c.id.desc())
                    .limit(1)
                )
            ).scalar() or {}
            values |= {  # photo links are signed when the message is sent (they expire): see delivery.body_of
                "result_text": result.get("notes") or "已办结",
                "result_code": "0",
                "photo_ids": [p for p in result.get("photos", []) if isinstance(p, str)],
            }
        return values

    async def progress(self, case_no: str, text: str, actor: Actor) -> str:
        """阶段性答复: tell the platform where a case stands (any time while it is open)."""
        if not text.strip() or len(text) > 2000:
            raise InvalidParameters("阶段性答复内容不能为空，且不超过 2000 字")
        now = self.cases.clock()
        async with write_transaction(self.engine) as conn:
            order = (
                (await conn.execute(select(exchange_orders).where(exchange_orders.c.case_no == case_no)))
                .mappings()
                .first()
            )
            if order is None or order["system"] not in self.links:
                raise NotFound(f"案件 {case_no} 不是对接平台派来的工单")
            count = len(
                (
                    await conn.execute(
                        select(exchange_outbound.c.id).where(
                            exchange_outbound.c.case_no == case_no, exchange_outbound.c.step == "progress"
                        )
                    )
                ).all()
            )
            message_id = f"{order['system']}:{case_no}:progress{count + 1}"
            await enqueue(
                conn,
                order["system"],
                order["ext_order_no"],
                case_no,
                "progress",
                message_id,
                {"at": now, "actor": actor.username, "text": text.strip()},
                now,
            )
        return message_id


_RESULT = {Verdict.APPLY: "applied", Verdict.HOLD: "held", Verdict.RECORD: "recorded"}


async def enqueue(
    conn: AsyncConnection,
    system: str,
    order_no: str,
    case_no: str,
    step: str,
    message_id: str,
    values: Mapping[str, Any],
    now: datetime,
) -> None:
    """Queue one outbound message once (its message id is unique)."""
    stored = {k: (v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
    await conn.execute(
        insert_ignore(conn, exchange_outbound)
        .values(
            message_id=message_id,
            system=system,
            ext_order_no=order_no,
            case_no=case_no,
            step=step,
            values=stored,
            state=OutState.PENDING.value,
            attempts=0,
            next_attempt_at=to_db(now),
            created_at=to_db(now),
        )
        .on_conflict_do_nothing()
    )


async def _tell_handler(conn: AsyncConnection, case_no: str, key: str, note: str, now: datetime) -> None:
    """A 12345 催办 into the inbox of the department handling the case, else the shift lead's."""
    department = (await conn.execute(select(cases.c.department_code).where(cases.c.case_no == case_no))).scalar()
    kind, recipient = ("department", department) if department else ("lead", "lead")
    message = outbox.OutboxMessage(
        f"12345urge:{key}"[:200], case_no, "urge:12345", "internal", kind, recipient, f"案件{case_no}：{note}", now
    )
    await outbox.enqueue_many(conn, [message])


async def cap_handling_due(conn: AsyncConnection, case_no: str, due: datetime | None) -> None:
    """The platform's 办理时限 counts when it is earlier than ours: the open handling clock ends there."""
    if due is None:
        return
    case_id = (await conn.execute(select(cases.c.id).where(cases.c.case_no == case_no))).scalar()
    stamp = to_db(due)
    clock = (
        (
            await conn.execute(
                select(case_stages)
                .where(
                    case_stages.c.case_id == case_id,
                    case_stages.c.stage == "handling",
                    case_stages.c.finished_at.is_(None),
                )
                .order_by(case_stages.c.id.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    if clock is None or clock["due_at"] <= stamp:
        return
    await conn.execute(
        update(case_stages)
        .where(case_stages.c.id == clock["id"])
        .values(due_at=stamp, yellow_at=min(clock["yellow_at"], stamp))
    )
    await evaluation_facts.refresh(conn, case_id)  # the clock's due time is part of the case's summary


async def deliver_and_settle(service: ExchangeService, now: datetime) -> Any:
    """One delivery sweep; when a 办结 was acknowledged, held 回访 results are tried at once."""
    from ticketing.exchange import delivery

    report = await delivery.deliver(service, now)
    if report.finished:
        await service.apply_held(now)
    return report
