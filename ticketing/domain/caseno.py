"""Case numbers: the local date and a daily sequence, digits only, so they sort and read well over the phone.

Example: 202611260042 is the 42nd case of 26 November 2026. Past 9999 cases a day the sequence widens
(the number stays unique; sorting within that day's overflow is still by sequence length, then value).
"""

from __future__ import annotations

import re
from datetime import date

CASE_NO = re.compile(r"^\d{8}\d{4,6}$")


def format_case_no(day: date, sequence: int) -> str:
    if sequence < 1:
        raise ValueError("sequence starts at 1")
    return f"{day:%Y%m%d}{sequence:04d}"


def is_case_no(text: str) -> bool:
    return bool(CASE_NO.match(text))


def day_key(day: date) -> str:
    return f"{day:%Y%m%d}"
