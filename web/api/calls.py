"""Call-centre API: agent log-in and state, queue status, call records, hang-up, blind transfer,
click-to-call and supervisor listen / whisper / barge (/api/v1/...)."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from callcenter.acd import IllegalAgentCommand, LogIn, LogOut, SetNotReady, SetReady
from callcenter.agent_sessions import AGENT_SESSIONS
from callcenter.ari.client import AriError
from callcenter.control import CallControl, LiveCall
from callcenter.domain.agent_session import ExtensionInUse
from callcenter.legs import TelephonyError
from callcenter.records import SqlCallRecords
from core.privacy import numbers_for
from web.auth import require_user
from web.errors import ApiError, parse_body
from web.extensions import check_extension, own_extension
from web.json import json_response
from web.keys import CLOCK, ENGINE, RUNNING
from web.openapi import add_routes, operation

STAFF = ("agent", "lead", "admin")
TELEPHONY_OFF = "电话平台未启用或未连接（telephony_disabled）"
AGENTS = ("agent", "lead")  # who has a phone: administrators manage, they do not take calls
SUPERVISORS = ("lead",)


class AgentStateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["ready", "not_ready"]
    reason: str = Field("break", max_length=32)


class TransferBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["agent", "queue", "number"]
    target: str = Field("hotline", min_length=1, max_length=32)


class OriginateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(pattern=r"^\+?\d{3,20}$")
    extension: str | None = Field(None, pattern=r"^\d{2,8}$")  # default: the extension the user holds


class SuperviseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["listen", "whisper", "barge"]
    extension: str | None = Field(None, max_length=16)  # the supervisor's phone; default: own extension


def call_numbers(role: Any, row: dict[str, Any]) -> dict[str, Any]:
    """A call record with the citizen's number (caller inbound, called outbound) as the role may see it."""
    return numbers_for(role, row, "caller" if row.get("direction", "inbound") == "inbound" else "called")


def masked_snapshot(role: Any, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The queue snapshot with waiting callers' numbers as the role may see them (core/privacy.py)."""
    return {**snapshot, "waiting": [numbers_for(role, c, "caller") for c in snapshot.get("waiting", [])]}


def _refused(exc: TelephonyError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


def _extension(given: str | None, user: Any) -> str:
    ext = given or user.extension
    if not ext:
        raise ApiError(409, "extension_required", "请先在受理台签入分机，或指定本人的分机号（账号未绑定分机）")
    return str(ext)


def _runtime(request: web.Request) -> CallControl:
    control = request.app[RUNNING].call_control
    if control is None:
        raise ApiError(503, "telephony_disabled", "电话平台未启用或未连接")
    return control


def _apply(control: CallControl, ext: str, command: Any) -> dict[str, Any]:
    try:
        agent = control.agent_command(ext, command)
    except TelephonyError as exc:
        raise _refused(exc) from exc
    except IllegalAgentCommand as exc:
        raise ApiError(409, exc.code, f"当前状态下不能执行该操作：{exc}") from exc
    return {"agent_id": ext, "state": agent.state, "reason": agent.reason}


@operation("POST", "/api/v1/agents/{ext}/login", summary="坐席签入（仅本人分机）", tag="calls", roles=AGENTS,
           statuses={200: "OK", 503: TELEPHONY_OFF})
async def login(request: web.Request) -> web.Response:
    user = await require_user(request, *AGENTS)
    ext = request.match_info["ext"]
    await check_extension(request, user, ext, "login")
    sessions = request.app[AGENT_SESSIONS]
    try:
        sessions.check_sign_in(ext, user.username)
    except ExtensionInUse as exc:
        raise ApiError(409, exc.code, str(exc)) from exc
    result = _apply(_runtime(request), ext, LogIn())
    await sessions.sign_in(ext, user.username, request.app[CLOCK]())
    return json_response(result)


@operation("POST", "/api/v1/agents/{ext}/logout", summary="坐席签出（本人分机；值班长可签出任一分机）", tag="calls",
           roles=AGENTS,
           statuses={200: "OK", 503: TELEPHONY_OFF})
async def logout(request: web.Request) -> web.Response:
    user = await require_user(request, *AGENTS)
    ext = request.match_info["ext"]
    await check_extension(request, user, ext, "control")
    result = _apply(_runtime(request), ext, LogOut())
    sessions = request.app[AGENT_SESSIONS]
    holder = sessions.holder(ext)
    if holder is not None:
        await sessions.sign_out(holder)
    return json_response(result)


@operation("POST", "/api/v1/agents/{ext}/state", summary="设置坐席状态（就绪/未就绪；本人分机，值班长任一分机）",
           tag="calls", body=AgentStateBody, roles=AGENTS,
           statuses={200: "OK", 503: TELEPHONY_OFF})
async def set_state(request: web.Request) -> web.Response:
    user = await require_user(request, *AGENTS)
    body = await parse_body(request, AgentStateBody)
    ext = request.match_info["ext"]
    await check_extension(request, user, ext, "control")
    command = SetReady() if body.state == "ready" else SetNotReady(body.reason)
    return json_response(_apply(_runtime(request), ext, command))


@operation("GET", "/api/v1/queue", summary="排队与坐席状态", tag="calls", roles=STAFF,
           statuses={200: "OK", 503: TELEPHONY_OFF})
async def queue_status(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    return json_response(masked_snapshot(user.role, _runtime(request).snapshot()))


@operation("GET", "/api/v1/calls", summary="通话记录列表", tag="calls", roles=STAFF)
async def list_calls(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    outcome = request.query.get("outcome") or None
    rows = await SqlCallRecords(request.app[ENGINE]).recent(100, outcome)
    return json_response({"items": [call_numbers(user.role, r) for r in rows]})


@operation("GET", "/api/v1/calls/{call_id}", summary="通话详情（时间点、按键、录音、排队事件）", tag="calls",
           roles=STAFF, statuses={200: "OK", 404: "没有该通话"})
async def call_detail(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    call = await SqlCallRecords(request.app[ENGINE]).get(request.match_info["call_id"])
    if call is None:
        raise ApiError(404, "call_not_found", "没有该通话记录")
    return json_response(call_numbers(user.role, call))


async def _live_call(request: web.Request, control: CallControl, user: Any) -> LiveCall:
    """A live call the user may control: leads and admins any, an agent only the call at its extension."""
    call = control.live_call(request.match_info["call_id"])
    if call is None:
        raise ApiError(404, "call_not_live", "该通话不在进行中")
    mine = await own_extension(request, user)
    if user.role.value == "agent" and (not mine or call.agent_id != mine):
        raise ApiError(403, "not_your_call", "只能操作本分机正在处理的通话")
    return call


class HoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: bool | None = Field(None, description="true 保持，false 恢复；省略则切换")


@operation("POST", "/api/v1/calls/{call_id}/hold", summary="保持或恢复通话（市民听等待音乐）", tag="calls",
           body=HoldBody, roles=STAFF,
           statuses={200: "返回保持状态", 404: "通话不在进行中", 503: TELEPHONY_OFF})
async def hold(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    body = await parse_body(request, HoldBody)
    runtime = _runtime(request)
    call = await _live_call(request, runtime, user)
    on = (not call.held) if body.on is None else body.on
    try:
        held = await runtime.hold(call.id, on, actor=user.username)
    except TelephonyError as exc:
        raise _refused(exc) from exc
    except AriError as exc:
        raise ApiError(502, "asterisk_error", f"电话平台操作失败：{exc.message}") from exc
    return json_response({"call_id": call.id, "held": held})


@operation("POST", "/api/v1/calls/{call_id}/hangup", summary="挂断通话", tag="calls", roles=STAFF,
           statuses={200: "OK", 503: TELEPHONY_OFF})
async def hangup(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    runtime = _runtime(request)
    call = await _live_call(request, runtime, user)
    try:
        await runtime.hang_up(call.id)
    except TelephonyError as exc:
        raise _refused(exc) from exc
    except AriError as exc:
        raise ApiError(502, "asterisk_error", f"电话平台操作失败：{exc.message}") from exc
    return json_response({"call_id": call.id, "hangup": True})


@operation("POST", "/api/v1/calls/{call_id}/transfer", summary="盲转（坐席、队列或外线号码）", tag="calls",
           body=TransferBody, roles=STAFF,
           statuses={200: "已转接", 404: "通话不在进行中", 409: "目标坐席不可用", 503: TELEPHONY_OFF})
async def transfer(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    body = await parse_body(request, TransferBody)
    runtime = _runtime(request)
    call_id = (await _live_call(request, runtime, user)).id
    try:
        await runtime.transfer(call_id, body.kind, body.target, actor=user.username)
    except TelephonyError as exc:
        raise _refused(exc) from exc
    return json_response({"call_id": call_id, "transferred": True, "kind": body.kind, "target": body.target})


@operation("POST", "/api/v1/calls/originate", summary="外呼（先振铃本人分机话机，再经中继呼叫号码）", tag="calls",
           body=OriginateBody, roles=AGENTS,
           statuses={202: "已发起", 403: "不是本人的分机", 409: "坐席忙", 503: TELEPHONY_OFF})
async def originate(request: web.Request) -> web.Response:
    user = await require_user(request, *AGENTS)
    body = await parse_body(request, OriginateBody)
    ext = _extension(body.extension or await own_extension(request, user), user)
    await check_extension(request, user, ext, "originate")
    try:
        call_id = await _runtime(request).originate(ext, body.number)
    except TelephonyError as exc:
        raise _refused(exc) from exc
    return json_response({"call_id": call_id, "number": body.number}, status=202)


@operation("POST", "/api/v1/calls/{call_id}/supervise", summary="值班长监听、耳语或强插", tag="calls",
           body=SuperviseBody, roles=SUPERVISORS,
           statuses={202: "已发起", 404: "通话不在进行中", 503: TELEPHONY_OFF})
async def supervise(request: web.Request) -> web.Response:
    user = await require_user(request, *SUPERVISORS)
    body = await parse_body(request, SuperviseBody)
    ext = _extension(body.extension or await own_extension(request, user), user)
    await check_extension(request, user, ext, "originate")  # the supervisor's own phone rings
    try:
        result = await _runtime(request).supervise(request.match_info["call_id"], ext, body.mode,
                                                   actor=user.username)
    except TelephonyError as exc:
        raise _refused(exc) from exc
    return json_response(result, status=202)


def setup(app: web.Application) -> None:
    add_routes(app, login, logout, set_state, queue_status, list_calls, call_detail, hangup, hold, transfer,
               originate, supervise)
