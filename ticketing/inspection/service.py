"""The inspectors' use cases (城管通): patrol reports and on-site answers sent exactly once, tasks by duty grid,
duty periods and positions, and an inspector's day for the lead.

Exactly once: each submission from the phone carries a key the phone chose when the inspector pressed send
(kept with the queued item, so a resend after a lost answer uses the same key). The submission row is written
inside the case's own transaction (`CaseService.create/act(..., also=...)`), so either the case change and
its submission row are both stored or neither is; a resend finds the row and gets the first answer again, and
two sends at the same moment meet at the unique (username, key) constraint.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.engine import write_transaction
from core.db.timeutil import from_db, to_db
from core.errors import InvalidParameters, PreconditionFailed
from ticketing.db.cases_repo import clock_from_row
from ticketing.db.tables import case_history, case_requests, case_stages, cases
from ticketing.domain.model import Actor, RequestKind, Role, Stage, State
from ticketing.domain.site import check_position
from ticketing.domain.workflow import INSPECTOR_ANSWERS, Command, Outcome
from ticketing.evaluation.attendance import attendance
from ticketing.evaluation.domain.attendance import TrailRule
from ticketing.evaluation.files import load_catalog
from ticketing.geo.domain.geometry import distance_m
from ticketing.inspection.tables import inspector_duty, inspector_positions, inspector_submissions
from ticketing.services import CaseService, Created, NewCase

TASK_STAGE = {RequestKind.VERIFICATION.value: Stage.VERIFYING.value, RequestKind.CHECK.value: Stage.CHECKING.value}
ANSWER_COMMANDS = tuple(INSPECTOR_ANSWERS)
MAX_TRAIL = 2000


@dataclass(frozen=True)
class Submitted:
    status: int  # 201 created / 200 answered; the same on a replay
    body: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True)
class Answer:
    case_no: str
    command: str  # report_verified | check_pass | check_fail
    version: int | None
    notes: str | None
    confirmed: bool | None
    photos: tuple[str, ...]
    lat: float | None
    lon: float | None
    accuracy: float | None


@dataclass
class InspectorService:
    cases: CaseService

    @property
    def engine(self) -> Any:
        return self.cases.engine

    def _now(self) -> datetime:
        return self.cases.clock()

    # --- exactly once ----------------------------------------------------------------------------------

    async def previous(self, username: str, key: str) -> Submitted | None:
        """The answer given to an earlier submission with this key, if there was one."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(inspector_submissions).where(
                        inspector_submissions.c.username == username, inspector_submissions.c.key == key
                    )
                )
            ).first()
        return Submitted(row.status, dict(row.response), replayed=True) if row else None

    def _record(
        self, username: str, key: str, kind: str, status: int, body: dict[str, Any]
    ) -> Callable[[AsyncConnection, str], Awaitable[None]]:
        async def write(conn: AsyncConnection, case_no: str) -> None:
            body["case_no"] = case_no
            if kind == "report":  # what the answer shows, also to a resend: state and the snapped cell
                row = (
                    await conn.execute(select(cases.c.state, cases.c.cell_code).where(cases.c.case_no == case_no))
                ).one()
                body.update(state=row.state, state_label=State(row.state).label, cell_code=row.cell_code)
            await conn.execute(
                inspector_submissions.insert().values(
                    username=username,
                    key=key,
                    kind=kind,
                    case_no=case_no,
                    status=status,
                    response=body,
                    created_at=to_db(self._now()),
                )
            )

        return write

    async def _once(self, username: str, key: str, run: Callable[[], Awaitable[Submitted]]) -> Submitted:
        found = await self.previous(username, key)
        if found is not None:
            return found
        try:
            return await run()
        except IntegrityError:  # the same key committed meanwhile by a concurrent send: its answer stands
            found = await self.previous(username, key)
            if found is None:
                raise
            return found

    # --- reports and answers ---------------------------------------------------------------------------

    async def report(self, actor: Actor, key: str, new: NewCase, *, register: bool = False) -> Submitted:
        """A patrol report (source inspector) with its photos; snapped to the unit cell of its position."""
        if new.lat is None or new.lon is None:
            raise InvalidParameters("上报须带位置：请允许定位，或在地图上选点")
        lat, lon, _ = check_position(new.lat, new.lon)
        await self.cases.check_in_area(lat, lon)
        locator = self.cases.locator
        if locator is not None and await locator.cell_at(lat, lon) is None:
            raise InvalidParameters("该位置不在单元网格内，请在地图上把位置移到问题所在的网格")

        async def run() -> Submitted:
            body: dict[str, Any] = {"kind": "report"}
            record = self._record(actor.username, key, "report", 201, body)

            async def recorded(conn: AsyncConnection, made: Created) -> None:
                await record(conn, made.case_no)

            created = await self.cases.create(new, actor, also=recorded)
            state = created.flow.state
            body.update(state=state.value, state_label=state.label, cell_code=created.fields["cell_code"])
            return Submitted(201, {**body, "case_no": created.case_no})

        done = await self._once(actor.username, key, run)
        if register and not done.replayed:
            done = await self._register_directly(actor, key, done, new.category_code)
        return done

    async def _register_directly(self, actor: Actor, key: str, done: Submitted, category: str) -> Submitted:
        """Skip 受理 and 立案 by people for the configured classes (off by default). The answer then names the
        state reached (立案), and so does the stored first answer a resend gets: both commands and that update
        are one transaction."""
        if category not in self.cases.settings.cases.inspection.register_directly:
            return done
        system = Actor(f"auto:{actor.username}", Role.SYSTEM)
        reason = "监督员上报，符合立案条件（按配置直接立案）"
        body = dict(done.body)

        async def each(conn: AsyncConnection, outcome: Outcome) -> None:
            state = outcome.case.state
            body.update(state=state.value, state_label=state.label)

        async def restate(conn: AsyncConnection) -> None:
            await conn.execute(
                update(inspector_submissions)
                .where(inspector_submissions.c.username == actor.username, inspector_submissions.c.key == key)
                .values(response=body)
            )

        commands = [Command(name, system, reason=reason) for name in ("accept", "register")]
        await self.cases.act_all(done.body["case_no"], commands, each=each, also=restate)
        return Submitted(done.status, body, done.replayed)

    async def answer(self, actor: Actor, key: str, answer: Answer) -> Submitted:
        """A 核实 or 核查 answer on site, with photos and the fix; refused (409) if the task moved on."""
        if answer.command not in INSPECTOR_ANSWERS:
            raise InvalidParameters(f"未知的反馈类型：{answer.command}")
        params: dict[str, Any] = {"photos": list(answer.photos)}
        if answer.notes:
            params["notes"] = answer.notes
        if answer.confirmed is not None:
            params["confirmed"] = answer.confirmed
        if answer.lat is not None or answer.lon is not None:
            params.update(lat=answer.lat, lon=answer.lon, accuracy=answer.accuracy)
        reason = answer.notes if answer.command == "check_fail" else None
        command = Command(answer.command, actor, expected_version=answer.version, reason=reason, params=params)

        async def run() -> Submitted:
            body: dict[str, Any] = {"kind": "answer", "command": answer.command}
            record = self._record(actor.username, key, "answer", 200, body)

            async def also(conn: AsyncConnection, outcome: Outcome) -> None:
                body.update(
                    state=outcome.case.state.value, version=outcome.case.version, site=outcome.event.payload.get("site")
                )
                await record(conn, outcome.case.case_no)

            await self.cases.act(answer.case_no, command, also=also)
            return Submitted(200, body)

        return await self._once(actor.username, key, run)

    # --- tasks -----------------------------------------------------------------------------------------

    async def tasks(self, username: str, lat: float | None = None, lon: float | None = None) -> list[dict[str, Any]]:
        """Pending 核实/核查 tasks assigned to this inspector or left in the pool, soonest due first."""
        now = self._now()
        reference = await self.cases.reference()
        r, c = case_requests.c, cases.c
        assignee = r.payload["assignee"].as_string()
        async with self.engine.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        select(
                            r.id,
                            r.kind,
                            r.requested_at,
                            r.payload,
                            c.id.label("case_id"),
                            c.case_no,
                            c.version,
                            c.state,
                            c.category_code,
                            c.description,
                            c.address,
                            c.lat,
                            c.lon,
                            c.cell_code,
                        )
                        .join(cases, c.id == r.case_id)
                        .where(
                            r.state == "pending",
                            r.kind.in_(list(TASK_STAGE)),
                            or_(assignee == username, assignee.is_(None)),
                        )
                        .limit(500)
                    )
                )
                .mappings()
                .all()
            )
            clocks = await _open_clocks(conn, [row["case_id"] for row in rows])
        out = []
        for row in rows:
            clock = clocks.get((row["case_id"], TASK_STAGE[row["kind"]]))
            category = reference.categories.get(row["category_code"])
            payload = row["payload"] or {}
            distance = (
                round(distance_m((lon, lat), (row["lon"], row["lat"])))
                if None not in (lat, lon, row["lat"], row["lon"])
                else None
            )
            out.append(
                {
                    "task_id": row["id"],
                    "kind": row["kind"],
                    "label": RequestKind(row["kind"]).label,
                    "case_no": row["case_no"],
                    "version": row["version"],
                    "state": row["state"],
                    "category": category.name if category else row["category_code"],
                    "category_code": row["category_code"],
                    "description": row["description"],
                    "address": row["address"],
                    "lat": row["lat"],
                    "lon": row["lon"],
                    "cell_code": row["cell_code"],
                    "pool": not payload.get("assignee"),
                    "duty_grid": payload.get("duty_grid"),
                    "requested_at": _iso(from_db(row["requested_at"])),
                    "due_at": _iso(clock.due_at) if clock else None,
                    "light": clock.light(now).value if clock else None,
                    "distance_m": distance,
                    "answers": _answers_for(row["kind"]),
                }
            )
        far = datetime.max.replace(tzinfo=UTC).isoformat()
        out.sort(key=lambda t: (t["pool"], t["due_at"] or far, t["task_id"]))
        return out

    # --- duty and positions ----------------------------------------------------------------------------

    async def duty(self, username: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = await _open_duty(conn, username)
        return {
            "on_duty": row is not None,
            "since": _iso(from_db(row.started_at)) if row else None,
            "interval_s": self.cases.settings.cases.inspection.position_interval_s,
        }

    async def start_duty(self, username: str) -> dict[str, Any]:
        async with write_transaction(self.engine) as conn:
            if await _open_duty(conn, username) is None:
                await conn.execute(inspector_duty.insert().values(username=username, started_at=to_db(self._now())))
        return await self.duty(username)

    async def end_duty(self, username: str) -> dict[str, Any]:
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                update(inspector_duty)
                .where(inspector_duty.c.username == username, inspector_duty.c.ended_at.is_(None))
                .values(ended_at=to_db(self._now()))
            )
        return await self.duty(username)

    async def position(self, username: str, lat: Any, lon: Any, accuracy: Any) -> dict[str, Any]:
        """Store the phone's position; only on duty (409 otherwise), only inside the county (422)."""
        lat, lon, accuracy = check_position(lat, lon, accuracy)
        await self.cases.check_in_area(lat, lon)
        locator = self.cases.locator
        cell = await locator.cell_at(lat, lon) if locator is not None else None
        now = self._now()
        async with write_transaction(self.engine) as conn:
            duty = await _open_duty(conn, username)
            if duty is None:
                raise PreconditionFailed("未上岗：下岗期间不记录位置，请先点“上岗”", code="off_duty")
            await conn.execute(
                inspector_positions.insert().values(
                    username=username,
                    duty_id=duty.id,
                    at=to_db(now),
                    lat=lat,
                    lon=lon,
                    accuracy_m=accuracy,
                    cell_code=cell.code if cell else None,
                )
            )
        return {"at": _iso(now), "cell_code": cell.code if cell else None}

    async def last_positions(self) -> list[dict[str, Any]]:
        """Each inspector on duty now with the last position the phone sent."""
        p, d = inspector_positions.c, inspector_duty.c
        async with self.engine.connect() as conn:
            last = (
                select(p.username, func.max(p.id).label("id"))
                .join(inspector_duty, d.id == p.duty_id)
                .where(d.ended_at.is_(None))
                .group_by(p.username)
                .subquery()
            )
            rows = (
                (await conn.execute(select(inspector_positions).join(last, last.c.id == p.id).order_by(p.username)))
                .mappings()
                .all()
            )
        return [
            {
                "username": r["username"],
                "lat": r["lat"],
                "lon": r["lon"],
                "accuracy_m": r["accuracy_m"],
                "cell_code": r["cell_code"],
                "at": _iso(from_db(r["at"])),
            }
            for r in rows
        ]

    # --- numbers ---------------------------------------------------------------------------------------

    async def day(self, username: str, day: date | None = None) -> dict[str, Any]:
        """One inspector's day: trail, time on duty, reports, answers and how many were on time, flagged."""
        tz = (await self.cases.calendar()).tz
        now = self._now()
        day = day or now.astimezone(tz).date()
        start = datetime.combine(day, time(0), tz).astimezone(UTC)
        end = start + timedelta(days=1)
        async with self.engine.connect() as conn:
            periods = (
                await conn.execute(
                    select(inspector_duty)
                    .where(
                        inspector_duty.c.username == username,
                        inspector_duty.c.started_at < to_db(end),
                        or_(inspector_duty.c.ended_at.is_(None), inspector_duty.c.ended_at >= to_db(start)),
                    )
                    .order_by(inspector_duty.c.started_at)
                )
            ).all()
            trail = (
                (
                    await conn.execute(
                        select(inspector_positions)
                        .where(
                            inspector_positions.c.username == username,
                            inspector_positions.c.at >= to_db(start),
                            inspector_positions.c.at < to_db(end),
                        )
                        .order_by(inspector_positions.c.at)
                        .limit(MAX_TRAIL)
                    )
                )
                .mappings()
                .all()
            )
            reports = (
                await conn.execute(
                    select(func.count())
                    .select_from(cases)
                    .where(
                        cases.c.created_by == username,
                        cases.c.source == "inspector",
                        cases.c.created_at >= to_db(start),
                        cases.c.created_at < to_db(end),
                    )
                )
            ).scalar_one()
            answers = await _answers(conn, username, start, end)
            # The same figures the post evaluation uses (ticketing/evaluation/attendance.py): one source.
            found = (await attendance(conn, start, end, now, trail_rule(), tz, [username])).get(username)
        hours = found.duty_seconds / 3600 if found else 0.0
        return {
            "username": username,
            "day": day.isoformat(),
            "on_duty_minutes": found.duty_minutes if found else 0,
            "patrol_km": round(found.trail_m / 1000, 2) if found else 0.0,
            "reports_per_duty_hour": round(reports / hours, 2) if hours else None,
            "duty": [
                {"started_at": _iso(from_db(p.started_at)), "ended_at": _iso(from_db(p.ended_at))} for p in periods
            ],
            "trail": [[r["lat"], r["lon"], _iso(from_db(r["at"]))] for r in trail],
            "reports": reports,
            "answers": len(answers),
            "answers_on_time": sum(1 for a in answers if a["on_time"]),
            "flagged": [a for a in answers if a["far"]],
        }


def _answers_for(kind: str) -> list[dict[str, str]]:
    if kind == RequestKind.VERIFICATION.value:
        return [
            {"command": "report_verified", "label": "属实", "confirmed": "true"},
            {"command": "report_verified", "label": "不属实", "confirmed": "false"},
        ]
    return [{"command": "check_pass", "label": "通过"}, {"command": "check_fail", "label": "不通过"}]


async def _open_clocks(conn: AsyncConnection, case_ids: list[int]) -> dict[tuple[int, str], Any]:
    if not case_ids:
        return {}
    rows = (
        (
            await conn.execute(
                select(case_stages).where(
                    case_stages.c.case_id.in_(case_ids),
                    case_stages.c.finished_at.is_(None),
                    case_stages.c.stage.in_(list(TASK_STAGE.values())),
                )
            )
        )
        .mappings()
        .all()
    )
    return {(r["case_id"], r["stage"]): clock_from_row(r) for r in rows}


async def _open_duty(conn: AsyncConnection, username: str) -> Any:
    return (
        await conn.execute(
            select(inspector_duty)
            .where(inspector_duty.c.username == username, inspector_duty.c.ended_at.is_(None))
            .order_by(inspector_duty.c.id.desc())
            .limit(1)
        )
    ).first()


async def _answers(conn: AsyncConnection, username: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The inspector's answers of the day, each on time when its stage clock closed by its due time."""
    h, s = case_history.c, case_stages.c
    rows = (
        await conn.execute(
            select(h.at, h.command, h.payload, cases.c.case_no, s.due_at)
            .join(cases, cases.c.id == h.case_id)
            .outerjoin(
                case_stages, and_(s.case_id == h.case_id, s.finished_at == h.at, s.stage.in_(list(TASK_STAGE.values())))
            )
            .where(h.actor == username, h.command.in_(ANSWER_COMMANDS), h.at >= to_db(start), h.at < to_db(end))
            .order_by(h.at)
        )
    ).all()
    out = []
    for r in rows:
        site = (r.payload or {}).get("site") or {}
        out.append(
            {
                "case_no": r.case_no,
                "command": r.command,
                "at": _iso(from_db(r.at)),
                "on_time": r.due_at is None or r.at <= r.due_at,
                "far": bool(site.get("far")),
                "distance_m": site.get("distance_m"),
            }
        )
    return out


@functools.cache
def trail_rule() -> TrailRule:
    """The trail rule with the evaluation catalog's parameters (the shipped indicators.yaml)."""
    return TrailRule.of(dict(load_catalog().parameters))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")
