"""A link profile as data: what the other platform calls each field, code and step, and how it signs.

Loaded from YAML (`ticketing/exchange/profiles/*.yaml`, or a site's own file) and validated once. Field names
are dotted paths into the JSON (`caller.phone`). Nothing here knows a vendor: a site that names `workOrderNo`
`SERIALNUM` changes the profile, not the code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ticketing.exchange.domain.signing import Scheme

KINDS = ("order", "extension_answer", "visit", "return_answer", "revoke")
STEPS = ("sign", "return", "extension", "progress", "finish")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Envelope(_Model):
    """Fields every inbound message carries."""

    type: str = "msgType"
    id: str = "msgId"
    order_no: str = "workOrderNo"


class Codes(_Model):
    appeal_type: dict[str, str] = {}  # external code -> label (咨询, 投诉 …), kept on the order
    approve_values: tuple[str, ...] = ("1", "Y", "true", "通过", "同意")  # values of an approval field that mean yes
    satisfaction: dict[str, int] = {}  # external value -> ours: 1 满意, 2 基本满意, 3 不满意
    anonymous: tuple[str, ...] = ("1", "01", "Y")  # secrecy values: do not keep the citizen's name
    category: dict[str, str] = {}  # external 诉求分类 code or path -> our small class (5 digits)


class Step(_Model):
    code: str  # the value of the envelope's type field for this step
    path: str  # appended to the link's base URL
    fields: dict[str, str] = {}  # external field -> canonical value name


class Answer(_Model):
    """How the platform says yes: HTTP 2xx and, if `success_field` is set, one of `success_values` there."""

    success_field: str | None = "code"
    success_values: tuple[str, ...] = ("0", "200", "10000")
    duplicate_values: tuple[str, ...] = ("DUPLICATE",)  # "already have this message id": counts as acked
    message_field: str = "message"


class Pull(_Model):
    path: str = "/workorders/pull"
    cursor_param: str = "cursor"
    limit_param: str = "limit"
    items: str = "items"
    next_cursor: str = "nextCursor"


class Signing(_Model):
    scheme: Scheme = "hmac_sha256"
    timestamp_header: str = "X-Timestamp"
    signature_header: str = "X-Signature"
    message_id_header: str = "X-Message-Id"
    app_header: str = "X-App-Key"
    window_s: float = Field(300, gt=0, le=86400)


class Profile(_Model):
    system: str = Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")
    label: str
    basis: str = ""  # which published specification the field set follows, and how far (honestly)
    envelope: Envelope = Envelope()
    kinds: dict[str, Literal["order", "extension_answer", "visit", "return_answer", "revoke"]]
    fields: dict[str, dict[str, str]]  # kind -> canonical field -> external dotted path
    attachment: dict[str, str] = {"name": "name", "url": "url"}
    codes: Codes = Codes()
    time_format: str = "%Y-%m-%d %H:%M:%S"
    time_zone: str = "Asia/Shanghai"
    unit_code: str = ""  # our 承办单位 code at the platform
    limit_units: dict[str, str] = {}  # our LimitUnit value -> the platform's word
    steps: dict[Literal["sign", "return", "extension", "progress", "finish"], Step]
    common: dict[str, str] = {}  # external field -> canonical value name, in every outbound body
    answer: Answer = Answer()
    pull: Pull = Pull()
    signing: Signing = Signing()
    repeat_pattern: str | None = None  # regex with one group: the original order number inside a 重办 text


def dig(data: object, path: str) -> object:
    """The value at a dotted path of nested dicts, or None."""
    node = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def put(data: dict[str, object], path: str, value: object) -> None:
    """Set a dotted path in nested dicts, creating the levels."""
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})  # type: ignore[assignment]
    node[parts[-1]] = value
