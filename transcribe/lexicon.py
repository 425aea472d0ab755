"""The data understanding runs on: small classes with the phrases that name them, and the known road names.

Loading reads files (categories.yaml, synonyms.yaml, roads.geojson); `build_lexicon` itself is pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SYNONYMS_FILE = Path(__file__).resolve().parent / "data" / "synonyms.yaml"
TYPE_DIGIT = {"component": "1", "event": "2"}
_PAREN = re.compile(r"[(（]([^)）]*)[)）]")


@dataclass(frozen=True, slots=True)
class SmallClass:
    """A small class (小类). `code` is the full 5-digit code: type digit + 大类 + 小类, e.g. 10118 路灯."""

    code: str
    name: str
    kind: str  # component | event
    major: str = ""


@dataclass(frozen=True, slots=True)
class Term:
    """A phrase that points at one or more small classes, with its evidence weight."""

    phrase: str
    codes: tuple[str, ...]
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Lexicon:
    classes: Mapping[str, SmallClass]  # by code
    terms: tuple[Term, ...]


def categories_from_data(data: Iterable[Mapping[str, Any]]) -> list[SmallClass]:
    """Small classes from the structure of config/data/categories.yaml (a list of major classes)."""
    found = []
    for major in data:
        digit = TYPE_DIGIT[major["kind"]]
        for item in major.get("classes", []):
            found.append(SmallClass(digit + str(item["code"]), str(item["name"]), major["kind"], major["name"]))
    return found


def load_categories(path: Path) -> list[SmallClass]:
    return categories_from_data(yaml.safe_load(path.read_text(encoding="utf-8")) or [])


def load_synonyms(path: Path | None = None) -> dict[str, Any]:
    return yaml.safe_load((path or SYNONYMS_FILE).read_text(encoding="utf-8")) or {}


def _name_variants(name: str) -> list[str]:
    """垃圾间(楼) → 垃圾间, 垃圾楼."""
    match = _PAREN.search(name)
    if not match:
        return [name]
    base = _PAREN.sub("", name)
    return [base, base[: match.start() - 1] + match.group(1)] if match.start() > 0 else [base]


def _phrase(item: str | Mapping[str, Any]) -> tuple[str, float]:
    if isinstance(item, str):
        return item, 1.0
    return str(item["say"]), float(item.get("weight", 1.0))


def build_lexicon(classes: Iterable[SmallClass], synonyms: Mapping[str, Any]) -> Lexicon:
    """Class names plus synonyms; synonyms naming unknown classes are skipped (sites edit the class list)."""
    by_code = {c.code: c for c in classes}
    by_name: dict[str, list[str]] = {}
    for c in by_code.values():
        by_name.setdefault(c.name, []).append(c.code)
    weights = synonyms.get("class_weights") or {}
    terms = [Term(v, (c.code,), float(weights.get(c.name, 1.0))) for c in by_code.values()
             for v in _name_variants(c.name)]
    for name, phrases in (synonyms.get("classes") or {}).items():
        for item in phrases or []:
            phrase, weight = _phrase(item)
            if name in by_name:
                terms.append(Term(phrase, tuple(by_name[name]), weight))
    for phrase, names in (synonyms.get("shared") or {}).items():
        codes = tuple(code for n in names for code in by_name.get(n, []))
        if codes:
            terms.append(Term(phrase, codes))
    return Lexicon(by_code, tuple(t for t in terms if len(t.phrase) >= 2))


def load_lexicon(categories: Path, synonyms: Path | None = None) -> Lexicon:
    return build_lexicon(load_categories(categories), load_synonyms(synonyms))


def load_road_names(path: Path) -> list[str]:
    """Road names (and aliases) from a GeoJSON file of roads with a `name` property."""
    data = json.loads(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for feature in data.get("features", []):
        props = feature.get("properties") or {}
        names.extend(n for n in (props.get("name"), *(props.get("aliases") or [])) if n)
    return list(dict.fromkeys(names))
