"""The one rule for citizens' phone numbers (personal data under PIPL): who sees them in full, who may reveal one.

Every place a number leaves the server (case views and lists, the websocket, caller lookup, callbacks, the
outbox, the queue, call records, the wallboard, logs) goes through `phone_for` / `mask_phone` of this module;
no other module decides. The rule, in words (docs/security.md has the table):

- Agents (受理员) and shift leads (值班长) see full numbers: they answer the citizen and call back.
- Dispatchers (派遣员), departments (专业部门) and inspectors (监督员) see masked numbers and may *reveal* one number of
  a case they may read, when they must reach the citizen; every reveal is written to the audit log and limited
  to `REVEALS_PER_HOUR` per user.
- Administrators and leaders never see full numbers (they manage and evaluate; they do not talk to citizens).
- The platform itself (SYSTEM: SMS, callbacks) uses full numbers to deliver; its logs carry masked ones.
"""

from __future__ import annotations

import re

from core.identity import Role
from core.phone import normalize_number

FULL_NUMBER_ROLES = frozenset({Role.AGENT, Role.LEAD, Role.SYSTEM})
REVEAL_ROLES = frozenset({Role.DISPATCHER, Role.DEPARTMENT, Role.INSPECTOR})
REVEALS_PER_HOUR = 20
_NOT_DIGITS = re.compile(r"[^0-9+]")


def _role(role: Role | str) -> Role | None:
    try:
        return Role(str(role))
    except ValueError:
        return None


def sees_full_number(role: Role | str) -> bool:
    """Whether this role is shown citizens' numbers in full everywhere."""
    return _role(role) in FULL_NUMBER_ROLES


def may_reveal(role: Role | str) -> bool:
    """Whether this role may reveal one number (audited, rate limited); full-number roles need not."""
    return _role(role) in REVEAL_ROLES


def mask_phone(phone: str | None) -> str | None:
    """138****0000: keep the first three and last four digits of a number long enough to hide anything. The
    number is first brought to its one national form, so +86/0086 forms of one number mask alike."""
    if not phone:
        return phone
    phone = normalize_number(phone) or phone
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 2) + phone[-1:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def phone_for(role: Role | str, phone: str | None) -> str | None:
    """The number as this role may see it: in full or masked."""
    return phone if sees_full_number(role) else mask_phone(phone)


def normalize_phone(phone: str) -> str:
    """The stored form of a number typed by a person or sent by a trunk: the one national form of
    `core.phone.normalize_number` ('+86 138-0000 0000' → '13800000000', '0086 573 8201 2319' → '057382012319')."""
    return normalize_number(phone)


def numbers_for(role: Role | str, data: dict[str, object], *fields: str) -> dict[str, object]:
    """A copy of `data` with the named number fields as this role may see them (call rows, queue entries)."""
    out = dict(data)
    for name in fields:
        value = out.get(name)
        if isinstance(value, str):
            out[name] = phone_for(role, value)
    return out
