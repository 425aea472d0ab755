"""Inbound messages at the boundary: the platform's JSON, through the profile, into canonical messages.

`parse` either returns one typed message or raises `BadMessage` with a stable code and a Chinese message; it
never returns a half-read one. Times are read in the profile's time zone (or with their own offset) and come
out tz-aware. Coordinates are range-checked (a published sample had lat and lon swapped).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ticketing.exchange.domain.profile import Profile, dig

MAX_TEXT = 4000


class BadMessage(ValueError):
    """The message cannot be taken: `code` is stable (for the answer and the log), `message` Chinese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Attachment:
    name: str
    url: str


@dataclass(frozen=True)
class Order:
    """派单: a new work order for us."""

    title: str | None
    content: str
    appeal_type: str | None  # label (投诉, 咨询 …) or the raw code
    category: str | None  # the platform's 诉求分类 code or path, as sent
    address: str | None
    lat: float | None
    lon: float | None
    caller_no: str | None
    contact_no: str | None
    citizen_name: str | None
    anonymous: bool
    due_at: datetime | None
    dispatched_at: datetime | None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class ExtensionAnswer:
    approved: bool
    due_at: datetime | None
    opinion: str | None


@dataclass(frozen=True)
class Visit:
    """回访 result: satisfaction 1 满意, 2 基本满意, 3 不满意 (ours), with the citizen's words."""

    satisfaction: int
    opinion: str | None
    raw_value: str


@dataclass(frozen=True)
class ReturnAnswer:
    approved: bool
    opinion: str | None


@dataclass(frozen=True)
class Revoke:
    reason: str | None


@dataclass(frozen=True)
class Urge:
    """催办/督办 from the platform: a reminder (its text), no change of state."""

    text: str | None


Body = Order | ExtensionAnswer | Visit | ReturnAnswer | Revoke | Urge


@dataclass(frozen=True)
class Inbound:
    kind: str
    key: str  # idempotency key: the platform's message id, else a hash of kind + content
    ext_order_no: str
    body: Body
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


def parse(raw: object, profile: Profile) -> Inbound:
    """One canonical inbound message from the platform's JSON object, or BadMessage."""
    if not isinstance(raw, dict):
        raise BadMessage("not_an_object", "报文应为 JSON 对象")
    env = profile.envelope
    kind = profile.kinds.get(str(dig(raw, env.type) or ""))
    if kind is None:
        raise BadMessage("unknown_type", f"未知的报文类型 {env.type}={dig(raw, env.type)!r}")
    order_no = _text(raw, env.order_no, "工单编号", required=True, max_len=64)
    assert order_no is not None
    reader = _Reader(raw, profile, profile.fields.get(kind, {}))
    body = _READERS[kind](reader)
    message_id = _text(raw, env.id, "报文编号", required=False, max_len=128)
    key = message_id or _content_key(kind, raw)
    return Inbound(kind, key, order_no, body, raw)


def _content_key(kind: str, raw: dict[str, Any]) -> str:
    text = json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(f"{kind}\n{text}".encode()).hexdigest()


def _text(raw: Any, path: str, label: str, *, required: bool, max_len: int = MAX_TEXT) -> str | None:
    value = dig(raw, path)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadMessage("missing_field", f"缺少字段 {path}（{label}）")
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise BadMessage("bad_field", f"字段 {path}（{label}）应为不超过 {max_len} 字的文本")
    return value.strip()


class _Reader:
    def __init__(self, raw: dict[str, Any], profile: Profile, names: dict[str, str]) -> None:
        self.raw, self.profile, self.names = raw, profile, names

    def text(self, key: str, label: str, *, required: bool = False, max_len: int = MAX_TEXT) -> str | None:
        if key not in self.names:
            if required:
                raise BadMessage("profile", f"对接档案缺少字段映射 {key}")
            return None
        return _text(self.raw, self.names[key], label, required=required, max_len=max_len)

    def time(self, key: str, label: str) -> datetime | None:
        text = self.text(key, label, max_len=40)
        if text is None:
            return None
        try:
            value = datetime.fromisoformat(text) if "T" in text else datetime.strptime(text, self.profile.time_format)
        except ValueError:
            raise BadMessage("bad_time", f"字段 {self.names[key]}（{label}）时间格式不正确：{text}") from None
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(self.profile.time_zone))

    def number(self, key: str, label: str) -> float | None:
        text = self.text(key, label, max_len=32)
        if text is None:
            return None
        try:
            value = float(text)
        except ValueError:
            raise BadMessage("bad_field", f"字段 {self.names[key]}（{label}）应为数字") from None
        if not math.isfinite(value):
            raise BadMessage("bad_field", f"字段 {self.names[key]}（{label}）应为有限数字")
        return value

    def yes(self, key: str, label: str) -> bool:
        value = self.text(key, label, required=True, max_len=16)
        return value in self.profile.codes.approve_values

    def attachments(self) -> tuple[Attachment, ...]:
        items = dig(self.raw, self.names["attachments"]) if "attachments" in self.names else None
        if items in (None, ""):
            return ()
        if isinstance(items, str):  # some platforms send comma-separated URLs
            items = [{self.profile.attachment["url"]: u} for u in items.split(",") if u.strip()]
        if not isinstance(items, list) or len(items) > 50:
            raise BadMessage("bad_field", "附件应为不超过 50 项的列表")
        out = []
        for item in items:
            url = _text(item, self.profile.attachment["url"], "附件地址", required=True, max_len=1000)
            name = _text(item, self.profile.attachment["name"], "附件名", required=False, max_len=200)
            # Any scheme is kept: the fetcher refuses what it may not fetch (domain/attachments.py), and a
            # refused attachment is shown on the case; it never costs the order.
            out.append(Attachment(name or (url or "").rsplit("/", 1)[-1], url or ""))
        return tuple(out)


def _point(lat: float | None, lon: float | None) -> tuple[float | None, float | None]:
    if lat is None or lon is None:
        return None, None
    if not -90 <= lat <= 90 and -90 <= lon <= 90:  # swapped in the sender's data: China's lon is > 70
        lat, lon = lon, lat
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadMessage("bad_point", f"经纬度超出范围：{lat}, {lon}")
    return lat, lon


def _order(r: _Reader) -> Order:
    lat, lon = _point(r.number("lat", "纬度"), r.number("lon", "经度"))
    appeal = r.text("appeal_type", "诉求类型", max_len=32)
    secrecy = r.text("secrecy", "保密标志", max_len=16)
    return Order(
        title=r.text("title", "标题", max_len=200),
        content=r.text("content", "诉求内容", required=True) or "",
        appeal_type=r.profile.codes.appeal_type.get(appeal or "", appeal),
        category=r.text("category", "诉求分类", max_len=200),
        address=r.text("address", "事发地址", max_len=200),
        lat=lat,
        lon=lon,
        caller_no=_phone(r.text("caller_no", "来电号码", max_len=32)),
        contact_no=_phone(r.text("contact_no", "联系电话", max_len=32)),
        citizen_name=r.text("citizen_name", "诉求人", max_len=64),
        anonymous=secrecy in r.profile.codes.anonymous,
        due_at=r.time("due_at", "办理时限"),
        dispatched_at=r.time("dispatched_at", "派单时间"),
        attachments=r.attachments(),
    )


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    digits = re.sub(r"[\s-]", "", value)
    if not re.match(r"^\+?[0-9]{3,20}$", digits):
        raise BadMessage("bad_field", "电话号码格式不正确")
    return digits


def _extension_answer(r: _Reader) -> ExtensionAnswer:
    return ExtensionAnswer(r.yes("approved", "审核结果"), r.time("due_at", "新办理时限"), r.text("opinion", "审核意见"))


def _visit(r: _Reader) -> Visit:
    value = r.text("satisfaction", "满意度", required=True, max_len=16) or ""
    ours = r.profile.codes.satisfaction.get(value)
    if ours not in (1, 2, 3):
        raise BadMessage("bad_code", f"未知的满意度代码：{value}")
    return Visit(ours, r.text("opinion", "回访意见"), value)


def _return_answer(r: _Reader) -> ReturnAnswer:
    return ReturnAnswer(r.yes("approved", "审核结果"), r.text("opinion", "审核意见"))


def _revoke(r: _Reader) -> Revoke:
    return Revoke(r.text("reason", "撤单原因"))


def _urge(r: _Reader) -> Urge:
    return Urge(r.text("text", "催办内容"))


_READERS = {
    "order": _order,
    "extension_answer": _extension_answer,
    "visit": _visit,
    "return_answer": _return_answer,
    "revoke": _revoke,
    "urge": _urge,
}
