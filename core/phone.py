"""Caller-ID normalisation: one national form for every telephone number the platform sees (pure).

A carrier trunk delivers the same citizen as `+8613800138000`, `008613800138000`, `8613800138000`,
`013800138000` (a mobile from another area, with the long-distance 0), `13800138000`; a fixed line as
`+86 573 8201 2345`, `0573-82012345`, `82012345` (local, without area code). Repeat-caller detection, masking
and callbacks must see one form, so every number goes through `normalize_number` once, where it enters:

- mobile: 11 digits, `1[3-9]…` (`13800138000`);
- fixed line: trunk prefix 0, area code, subscriber number (`057382012345`);
- service numbers (110, 12319, 12345, 95598 …): as they are;
- other countries: `+` and the digits (`+85212345678`).

`number_kind` says which of these a normalised number is; `dial_forms` lists the forms a carrier may put in
a request URI for one of our numbers (DIDs).
"""

from __future__ import annotations

import re
from typing import Literal

NumberKind = Literal["mobile", "fixed", "service", "international", "unknown"]

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_FIXED = re.compile(r"^0[1-9]\d{8,10}$")  # 0 + area code (2-3 digits) + 7-8 digit subscriber number
_SUBSCRIBER = re.compile(r"^[2-8]\d{6,7}$")  # a local fixed-line number without area code
_SERVICE = re.compile(r"^(1\d{2,4}|9\d{4})$")  # 110, 12319, 12345, 95598 …
_SEPARATORS = re.compile(r"[\s\-().]")


def _digits_of(raw: str) -> str:
    text = raw.strip()
    for scheme in ("tel:", "sip:", "sips:"):
        if text.lower().startswith(scheme):
            text = text[len(scheme) :]
    text = text.split("@", 1)[0].split(";", 1)[0]
    return _SEPARATORS.sub("", text)


def normalize_number(raw: str | None, area_code: str = "0573") -> str:
    """The national form of `raw` (see the module docstring); `""` for nothing, and text that is not a
    number comes back stripped of separators (it is then `number_kind(...) == "unknown"`)."""
    if not raw:
        return ""
    text = _digits_of(raw)
    international = text.startswith("+") or text.startswith("00")
    digits = text.lstrip("+")
    if digits.startswith("00"):
        digits = digits[2:]
    if not digits.isdigit():
        return text
    if international:
        if not digits.startswith("86"):
            return "+" + digits
        digits = digits[2:]
        return digits if _MOBILE.match(digits) else "0" + digits.lstrip("0")
    if digits.startswith("86") and _MOBILE.match(digits[2:]):
        return digits[2:]  # 86 + mobile without the + (some IMS trunks)
    if digits.startswith("86") and len(digits) in (12, 13) and _FIXED.match("0" + digits[2:]):
        return "0" + digits[2:]  # 86 + fixed line: no national number has 12-13 digits starting with 86
    if digits.startswith("0") and _MOBILE.match(digits[1:]):
        return digits[1:]  # long-distance 0 before a mobile from another area
    if _SUBSCRIBER.match(digits):
        return area_code + digits
    return digits


def number_kind(number: str) -> NumberKind:
    """What a normalised number is."""
    if _MOBILE.match(number):
        return "mobile"
    if number.startswith("+"):
        return "international"
    if _FIXED.match(number):
        return "fixed"
    if _SERVICE.match(number):
        return "service"
    return "unknown"


def dial_forms(number: str, area_code: str = "0573") -> tuple[str, ...]:
    """Every form under which a carrier may deliver a call to our `number` (a DID): the national form,
    +86 and 0086 and 86 forms, and for a local fixed line the subscriber number alone."""
    national = normalize_number(number, area_code)
    forms = [national]
    kind = number_kind(national)
    if kind in ("mobile", "fixed"):
        bare = national if kind == "mobile" else national[1:]
        forms += ["+86" + bare, "0086" + bare, "86" + bare]
        if kind == "fixed" and national.startswith(area_code):
            forms.append(national[len(area_code) :])
    return tuple(dict.fromkeys(forms))
