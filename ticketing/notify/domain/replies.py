"""What a citizen's text back means: a survey answer, a progress query, an opt-out, or something else.

Pure: the text in, one `Reply` out. Full-width digits and letters count as their ASCII forms; a rating may be
followed by the citizen's words ("3 灯还是不亮"), which become the reason of the 重办.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class ReplyKind(StrEnum):
    RATING = "rating"
    QUERY = "query"
    OPT_OUT = "opt_out"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Reply:
    kind: ReplyKind
    rating: int | None = None  # 1 满意, 2 基本满意, 3 不满意
    case_no: str | None = None
    words: str | None = None  # what followed the rating


_RATING = re.compile(r"^([123])(?:[\s,，.。:：、]+(.*)|)$", re.S)
_QUERY = re.compile(r"^(?:查询|查|CX)\s*[:：]?\s*(\d{12})$", re.I)
_OPT_OUT = frozenset({"TD", "T", "退订", "N", "取消", "退订短信"})


def parse_reply(text: str) -> Reply:
    """Read one inbound SMS."""
    clean = unicodedata.normalize("NFKC", text or "").strip()
    if clean.upper() in _OPT_OUT:
        return Reply(ReplyKind.OPT_OUT)
    if found := _QUERY.match(clean):
        return Reply(ReplyKind.QUERY, case_no=found.group(1))
    if found := _RATING.match(clean):
        words = (found.group(2) or "").strip() or None
        return Reply(ReplyKind.RATING, rating=int(found.group(1)), words=words)
    return Reply(ReplyKind.OTHER)
