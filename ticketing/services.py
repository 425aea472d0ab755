"""Case use cases: create, act (apply a workflow command), with reference data and calendar cached.

Each state change runs in one database transaction: the case row (optimistic version check), its stage
clocks and requests, and an append-only history row are written together or not at all. Events are
published only after the commit.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.engine import write_transaction
from core.errors import Forbidden, InvalidParameters
from core.places import ComponentFacts, Location, PlaceFacts
from core.privacy import normalize_phone
from core.tables import users
from ticketing.calendar_source import build_calendar
from ticketing.db.cases_repo import LoadedCase, SqlCaseRepository
from ticketing.db.tables import calendar_days, cases
from ticketing.domain.calendar import Limit, LimitUnit, WorkCalendar
from ticketing.domain.caseno import day_key, format_case_no
from ticketing.domain.dispatch import suggest_department
from ticketing.domain.model import Actor, CaseFlow, Role, Stage, State
from ticketing.domain.site import check_position, inside_area, site_fix
from ticketing.domain.workflow import (
    INSPECTOR_ANSWERS,
    CaseEvent,
    Command,
    HistoryEntry,
    Outcome,
    Policy,
    apply,
    new_case,
)
from ticketing.reference import Category, ReferenceData, load_reference
from ticketing.settings import TicketingSettings

SOURCES = ("hotline", "inspector", "web", "open311", "12345")
CREATOR_ROLES = frozenset({Role.AGENT, Role.LEAD, Role.INSPECTOR, Role.SYSTEM})
PHONE = re.compile(r"^\+?[0-9][0-9-]{2,19}$")
_CACHE_SECONDS = 30.0
NEAREST_COMPONENT_M = 60.0  # a reported component further away than this is not assumed to be that one


# Runs inside the transaction of every command, after the case is saved: a feature that must record something
# with the change (the exchange's outbound message to 12345) writes it here, so both commit or neither does.
TransactionHook = Callable[[AsyncConnection, Outcome], Awaitable[None]]
# Runs inside the creating transaction, after the case row is written (the exchange's order record).
CreateHook = Callable[[AsyncConnection, "Created"], Awaitable[None]]


class Locator(Protocol):
    """Port: resolves an address and/or a point to a location with its 属地 facts (ticketing.geo)."""

    async def locate(self, *, address: str | None, lat: float | None, lon: float | None) -> Location | None: ...

    async def component(self, component_id: str) -> ComponentFacts | None: ...

    async def components_near(self, lat: float, lon: float, *, class_code: str | None = None,
                              radius_m: float = 100.0, limit: int = 20) -> list[tuple[float, Any]]: ...

    async def duty_grid_of(self, cell_code: str | None) -> tuple[str, str | None] | None:
        """The 责任网格 (code, inspector's username or None) holding a unit cell, None outside any."""
        ...

    async def cell_at(self, lat: float, lon: float) -> Any:
        """The unit cell (with .code) at a point, None outside the grid."""
        ...

    async def service_area(self) -> tuple[float, float, float, float] | None:
        """The bounding box (min lon, min lat, max lon, max lat) of the unit grid, None without data."""
        ...


# Runs inside a case transaction after the case is written (an idempotency record, photo links): what it
# writes commits or rolls back with the case. Create hooks get what was created, act hooks the outcome.
ActHook = Callable[[AsyncConnection, Outcome], Awaitable[None]]
ASSIGNED_REQUESTS = frozenset({"request_verification", "request_check"})


@dataclass(frozen=True)
class NewCase:
    source: str
    description: str
    category_code: str
    caller_phone: str | None = None
    caller_name: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    component_id: str | None = None
    external_id: str | None = None
    call_id: str | None = None
    accept: bool = False
    photos: tuple[str, ...] = ()  # ids of stored photos (an inspector's report)


@dataclass(frozen=True)
class Created:
    """What a creation produced: the workflow state and the stored fields (place, suggestion)."""

    flow: CaseFlow
    category: Category
    fields: dict[str, Any]

    @property
    def case_no(self) -> str:
        return self.flow.case_no


@dataclass
class _Cached:
    reference: ReferenceData | None = None
    calendar: WorkCalendar | None = None
    loaded_at: float = 0.0


@dataclass
class CaseService:
    engine: AsyncEngine
    settings: TicketingSettings
    locator: Locator | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    publish: Callable[[CaseEvent], None] | None = None
    hooks: list[TransactionHook] = field(default_factory=list)
    _cache: _Cached = field(default_factory=_Cached)

    # --- reference data and policy -------------------------------------------------------------------

    async def reference(self) -> ReferenceData:
        await self._refresh_if_old()
        assert self._cache.reference is not None
        return self._cache.reference

    async def calendar(self) -> WorkCalendar:
        await self._refresh_if_old()
        assert self._cache.calendar is not None
        return self._cache.calendar

    def invalidate(self) -> None:
        """Forget cached reference data (after an administrator changed categories, departments or days)."""
        self._cache = _Cached()

    async def _refresh_if_old(self) -> None:
        if self._cache.reference is not None and time.monotonic() - self._cache.loaded_at < _CACHE_SECONDS:
            return
        async with self.engine.connect() as conn:
            reference = await load_reference(conn)
            entries = [(r.day, r.kind) for r in (await conn.execute(select(calendar_days))).all()]
        self._cache = _Cached(reference, build_calendar(self.settings.working_time, entries), time.monotonic())

    def policy(self, reference: ReferenceData, calendar: WorkCalendar, category: Category | None) -> Policy:
        limits = self.settings.cases.limits
        stage_limits = {
            Stage.ACCEPTANCE: _limit(limits.acceptance), Stage.REGISTRATION: _limit(limits.registration),
            Stage.DISPATCHING: _limit(limits.dispatching), Stage.CHECKING: _limit(limits.checking),
            Stage.CLOSING: _limit(limits.closing), Stage.VERIFYING: _limit(limits.verifying),
        }
        inspection = self.settings.cases.inspection
        handling = category.limit if category else Limit(1, LimitUnit.WORKING_DAYS)
        return Policy(calendar=calendar, stage_limits=stage_limits, handling_limit=handling,
                      rework_limit=_limit(limits.rework), departments=frozenset(reference.departments),
                      yellow_fraction=self.settings.cases.yellow_at,
                      reopen_window=timedelta(days=self.settings.cases.reopen_window_days),
                      check_photos_required=inspection.check_photos_required,
                      verification_photos_required=inspection.verification_photos_required)

    # --- use cases ------------------------------------------------------------------------------------

    async def create(self, new: NewCase, actor: Actor, *, also: CreateHook | None = None) -> Created:
        """Register a new case (optionally accepted in the same step) in one transaction; `also` writes its
        own rows in that transaction (or raises, and nothing is saved)."""
        if actor.role not in CREATOR_ROLES:
            raise Forbidden(f"{actor.role.label}不能新建案件")
        reference, calendar = await self.reference(), await self.calendar()
        category = _validate_new(new, reference)
        location, component = await self._locate(new, category)
        place = location.place if location else PlaceFacts()
        suggestion = suggest_department(category.responsible, place, component, reference.departments)
        policy = self.policy(reference, calendar, category)
        now = self.clock()
        local_day = now.astimezone(calendar.tz).date()
        fields = _case_fields(new, actor, location, suggestion, component)
        events: list[CaseEvent] = []
        async with write_transaction(self.engine) as conn:
            repo = SqlCaseRepository(conn)
            case_no = format_case_no(local_day, await repo.next_sequence(day_key(local_day)))
            flow = new_case(case_no, category.code, now, policy)
            payload: dict[str, Any] = {"source": new.source, "category": category.code}
            if new.photos:
                payload["photos"] = list(new.photos)
            created = HistoryEntry(now, actor.username, actor.role, "create", State.REPORTED, State.REPORTED,
                                   None, payload)
            await repo.insert(flow, fields, created)
            events.append(CaseEvent("CaseReported", case_no, State.REPORTED, State.REPORTED, now,
                                    actor.username, {"source": new.source}))
            if new.accept:
                outcome = await self._act_in(conn, case_no, Command("accept", actor), now, policy)
                events.append(outcome.event)
                flow = outcome.case
            created_case = Created(flow, category, fields)
            if also is not None:
                await also(conn, created_case)
        self._emit(events)
        return created_case

    async def act(self, case_no: str, command: Command, also: ActHook | None = None) -> Outcome:
        """Apply one workflow command in its own transaction; stale or illegal commands change nothing. `also`
        writes its own rows in that transaction, given the outcome (or raises, and nothing is saved)."""
        return (await self.act_all(case_no, [command], each=also))[0]

    async def act_all(self, case_no: str, commands: Sequence[Command], *, each: ActHook | None = None,
                      also: Callable[[AsyncConnection], Awaitable[None]] | None = None) -> list[Outcome]:
        """Apply commands one after another in one transaction (e.g. 回访评价 then 重办), `each` after every
        one of them, then `also`: all of them or none."""
        reference, calendar = await self.reference(), await self.calendar()
        now = self.clock()
        outcomes: list[Outcome] = []
        async with write_transaction(self.engine) as conn:
            for command in commands:
                loaded = await SqlCaseRepository(conn).load(case_no, for_update=True)
                if command.name == "merge":
                    await _check_merge_target(conn, command)
                command = await self._prepare(conn, loaded, command)
                policy = self.policy(reference, calendar, reference.categories.get(loaded.flow.category_code))
                outcome = await self._act_in(conn, case_no, command, now, policy, loaded)
                outcomes.append(outcome)
                if each is not None:
                    await each(conn, outcome)
            if also is not None:
                await also(conn)
        self._emit([outcome.event for outcome in outcomes])
        return outcomes

    async def _prepare(self, conn: AsyncConnection, loaded: LoadedCase, command: Command) -> Command:
        """What the server adds to a command: the duty grid's inspector of a 核实/核查 task (the pool when the
        grid has none), the distance of an on-site answer to the case, the checked target of a reassignment.
        Clients cannot set these themselves: whatever they sent under these names is replaced."""
        params = {k: v for k, v in command.params.items() if k not in ("assignee", "duty_grid", "site")}
        if command.name in ASSIGNED_REQUESTS:
            params["duty_grid"], params["assignee"] = await self._duty_inspector(conn, loaded.row["cell_code"])
        elif command.name in INSPECTOR_ANSWERS:
            lat, lon, accuracy = params.pop("lat", None), params.pop("lon", None), params.pop("accuracy", None)
            if lat is not None or lon is not None:
                params["site"] = await self._site(loaded, lat, lon, accuracy)
        elif command.name == "reassign_inspector":
            await self._check_inspector(conn, params.get("inspector"))
        return replace(command, params=params)

    async def _duty_inspector(self, conn: AsyncConnection, cell_code: str | None) -> tuple[str | None, str | None]:
        grid = await self.locator.duty_grid_of(cell_code) if self.locator is not None else None
        if grid is None:
            return None, None
        code, inspector = grid
        if inspector is None or not await _is_inspector(conn, inspector):
            return code, None  # nobody (active) patrols the grid: the task goes to the pool
        return code, inspector

    async def _site(self, loaded: LoadedCase, lat: Any, lon: Any, accuracy: Any) -> dict[str, Any]:
        lat, lon, accuracy = check_position(lat, lon, accuracy)
        await self.check_in_area(lat, lon)
        return site_fix(loaded.row["lat"], loaded.row["lon"], lat, lon, accuracy,
                        self.settings.cases.inspection.far_m)

    async def check_in_area(self, lat: float, lon: float) -> None:
        """Refuse a position outside the county's grid (and its margin): a wrong fix, not a place of work."""
        area = await self.locator.service_area() if self.locator is not None else None
        margin = self.settings.cases.inspection.county_margin_m
        if not inside_area(area, margin, lat, lon):
            county = self.settings.cases.county_name
            message = f"位置不在{county}范围内（距单元网格超过 {margin:g} 米），请检查定位或在地图上选点"
            raise InvalidParameters(message, code="outside_county")

    async def _check_inspector(self, conn: AsyncConnection, username: Any) -> None:
        if isinstance(username, str) and username and not await _is_inspector(conn, username):
            raise InvalidParameters(f"{username} 不是在岗的监督员账号")

    async def _act_in(self, conn: AsyncConnection, case_no: str, command: Command, now: datetime,
                      policy: Policy, loaded: LoadedCase | None = None) -> Outcome:
        repo = SqlCaseRepository(conn)
        loaded = loaded or await repo.load(case_no, for_update=True)
        outcome = apply(loaded.flow, command, now, policy)
        await repo.save(loaded, outcome.case, outcome.history)
        for hook in self.hooks:
            await hook(conn, outcome)
        return outcome

    async def _locate(self, new: NewCase, category: Category) -> tuple[Location | None, ComponentFacts | None]:
        location = component = None
        if self.locator is not None:
            location = await self.locator.locate(address=new.address, lat=new.lat, lon=new.lon)
            if new.component_id:
                component = await self.locator.component(new.component_id)
            elif category.kind == "component" and location is not None and location.lat is not None:
                component = await self._nearest_component(location, category)
        if location is None and (new.address or new.lat is not None):
            location = Location(new.lat, new.lon, new.address, PlaceFacts(), confidence=0.0)
        return location, component

    async def _nearest_component(self, location: Location, category: Category) -> ComponentFacts | None:
        """The inventory's component of the reported class nearest the place, if one is close enough:
        its owner and maintainer then decide the dispatch (权属/养护) without the agent looking it up."""
        assert self.locator is not None and location.lat is not None and location.lon is not None
        near = await self.locator.components_near(location.lat, location.lon, class_code=category.minor_code,
                                                  radius_m=NEAREST_COMPONENT_M, limit=1)
        return await self.locator.component(near[0][1].id) if near else None

    def _emit(self, events: list[CaseEvent]) -> None:
        if self.publish is not None:
            for event in events:
                self.publish(event)


async def _check_merge_target(conn: AsyncConnection, command: Command) -> None:
    """A duplicate is merged into a live case: one that exists and is not itself void or merged."""
    target = command.params.get("merged_into")
    if not isinstance(target, str):
        return  # the workflow reports the missing parameter
    row = (await conn.execute(select(cases.c.state).where(cases.c.case_no == target))).first()
    if row is None or row.state == State.INVALID.value:
        raise InvalidParameters(f"合并目标案件 {target} 不存在或已作废")


async def _is_inspector(conn: AsyncConnection, username: str) -> bool:
    row = (await conn.execute(select(users.c.id).where(
        users.c.username == username, users.c.role == Role.INSPECTOR.value, users.c.active.is_(True)))).first()
    return row is not None


def _limit(spec: tuple[float, str]) -> Limit:
    return Limit(float(spec[0]), LimitUnit(spec[1]))


def _validate_new(new: NewCase, reference: ReferenceData) -> Category:
    if new.source not in SOURCES:
        raise InvalidParameters(f"来源 source 应为 {'、'.join(SOURCES)} 之一")
    if not new.description.strip() or len(new.description) > 4000:
        raise InvalidParameters("问题描述不能为空，且不超过 4000 字")
    category = reference.categories.get(new.category_code)
    if category is None or not category.active:
        raise InvalidParameters(f"未知或已停用的案件类别：{new.category_code}")
    if new.caller_phone is not None and not PHONE.match(new.caller_phone):
        raise InvalidParameters("来电号码格式不正确")
    if (new.lat is None) != (new.lon is None):
        raise InvalidParameters("经纬度 lat 和 lon 须同时提供")
    if new.lat is not None and new.lon is not None and not _valid_point(new.lat, new.lon):
        raise InvalidParameters("经纬度超出范围（纬度 -90 到 90，经度 -180 到 180）")
    if new.address is not None and len(new.address) > 200:
        raise InvalidParameters("地址不超过 200 字")
    return category


def _valid_point(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def _case_fields(new: NewCase, actor: Actor, location: Location | None, suggestion: Any,
                 component: ComponentFacts | None) -> dict[str, Any]:
    place = location.place if location else PlaceFacts()
    return {
        "source": new.source, "description": new.description.strip(),
        "caller_phone": normalize_phone(new.caller_phone) if new.caller_phone else None,
        "caller_name": new.caller_name, "address": (location.address if location else None) or new.address,
        "lat": location.lat if location else None, "lon": location.lon if location else None,
        "cell_code": place.cell_code, "community_code": place.community_code, "street_code": place.street_code,
        "component_id": component.component_id if component else new.component_id,
        "external_id": new.external_id, "call_id": new.call_id,
        "suggested_department": suggestion.department_code if suggestion else None,
        "suggestion_reason": suggestion.reason if suggestion else None, "created_by": actor.username,
    }
