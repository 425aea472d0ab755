"""Scoring profiles as data (weights, thresholds, deductions, grade bands) and the pure scoring function.

A score carries its formula and every figure that went into it, so a department can recompute it by hand.
Profiles are versioned: (id, version) names one; a score names the version it used. Points of each rule are
rounded to 2 decimals and the total is the sum of the rounded parts (what the formula shows adds up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ticketing.evaluation.domain.catalog import Catalog, CatalogError, ObjectKind


class RuleKind(StrEnum):
    WEIGHTED = "weighted"  # weight × rate (or × (1 − rate) when invert)
    THRESHOLD = "threshold"  # full points at or above the target, minus per_point_below per percentage point
    PER_CASE = "per_case"  # points_per_case × the numerator count (deductions are negative)
    TIERS = "tiers"  # the points of the highest tier whose minimum the count reaches


@dataclass(frozen=True, slots=True)
class Figure:
    """One indicator of one object: numerator, denominator and the value (None when nothing to judge)."""

    indicator: str
    name: str
    numerator: int
    denominator: int | None
    scale: float = 1.0  # quantities (在岗时长 from minutes, 巡查里程 from metres): value = numerator × scale
    unit: str = ""  # set for quantities: 小时, 公里, 件/小时

    @property
    def value(self) -> float | None:
        if self.denominator is None:
            return float(self.numerator) * self.scale
        return self.numerator * self.scale / self.denominator if self.denominator else None


@dataclass(frozen=True, slots=True)
class Rule:
    indicator: str
    kind: RuleKind
    weight: float = 0.0
    invert: bool = False
    target: float = 0.0
    per_point_below: float = 0.0
    points_per_case: float = 0.0
    floor: float | None = None
    tiers: tuple[tuple[float, float], ...] = ()  # (minimum count, points), ascending
    when_empty: str = "full"  # full | zero: points when the denominator is 0

    @property
    def max_points(self) -> float:
        match self.kind:
            case RuleKind.WEIGHTED | RuleKind.THRESHOLD:
                return self.weight
            case RuleKind.TIERS:
                return max(p for _, p in self.tiers)
        return 0.0


@dataclass(frozen=True, slots=True)
class Grade:
    minimum: float
    label: str


@dataclass(frozen=True)
class Profile:
    id: str
    version: int
    name: str
    objects: tuple[ObjectKind, ...]
    rules: tuple[Rule, ...]
    grades: tuple[Grade, ...]  # descending minimum
    description: str = ""

    @property
    def max_points(self) -> float:
        return round(sum(r.max_points for r in self.rules), 2)

    def grade(self, points: float) -> str | None:
        return next((g.label for g in self.grades if points >= g.minimum), None)


@dataclass(frozen=True, slots=True)
class Part:
    indicator: str
    name: str
    rule: str  # the rule in words
    figure: Figure
    points: float
    formula: str  # with the numbers filled in


@dataclass(frozen=True)
class Score:
    object_id: str
    profile_id: str
    profile_version: int
    points: float
    max_points: float
    grade: str | None
    parts: tuple[Part, ...]

    @property
    def formula(self) -> str:
        return " + ".join(f"{p.points:.2f}（{p.name}）" for p in self.parts) + f" = {self.points:.2f}"


def score(profile: Profile, object_id: str, figures: Mapping[str, Figure]) -> Score:
    parts = tuple(_part(rule, figures[rule.indicator]) for rule in profile.rules)
    total = round(sum(p.points for p in parts), 2)
    return Score(object_id, profile.id, profile.version, total, profile.max_points, profile.grade(total), parts)


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def _ratio(f: Figure) -> str:
    assert f.value is not None
    if f.unit:  # a quantity: its value in its unit
        return f"{f.value:.2f} {f.unit}"
    assert f.denominator is not None
    return f"{f.numerator}/{f.denominator} = {_pct(f.value)}"


def _target(rule: Rule, unit: str) -> str:
    return f"{rule.target:g} {unit}" if unit else _pct(rule.target)


def _part(rule: Rule, f: Figure) -> Part:
    words, points, formula = _apply(rule, f)
    if rule.floor is not None and points < rule.floor:
        points, formula = rule.floor, f"{formula}，不低于 {rule.floor:g}"
    points = round(points, 2)
    return Part(rule.indicator, f.name, words, f, points, f"{formula} → {points:.2f} 分")


def _apply(rule: Rule, f: Figure) -> tuple[str, float, str]:
    if rule.kind is RuleKind.PER_CASE:
        return (f"每件 {rule.points_per_case:+g} 分", rule.points_per_case * f.numerator,
                f"{f.numerator} 件 × {rule.points_per_case:+g}")
    if rule.kind is RuleKind.TIERS:
        earned = max((p for m, p in rule.tiers if f.numerator >= m), default=0.0)
        words = "；".join(f"≥{m:g} 件得 {p:g} 分" for m, p in rule.tiers)
        return words, earned, f"{f.numerator} 件"
    if f.value is None:
        points = rule.max_points if rule.when_empty == "full" else 0.0
        empty = "分母为 0" if f.unit else "无应考核案件（0/0）"
        return _words(rule, f.unit), points, f"{empty}，按规则得{'满' if rule.when_empty == 'full' else '零'}分"
    if rule.kind is RuleKind.WEIGHTED:
        if rule.invert:
            return _words(rule), rule.weight * (1 - f.value), f"(1 − {_ratio(f)}) × {rule.weight:g}"
        return _words(rule), rule.weight * f.value, f"{_ratio(f)} × {rule.weight:g}"
    # A rate falls short in percentage points, a quantity (小时, 件/小时) in its own unit.
    shortfall = max(0.0, rule.target - f.value) * (1 if f.unit else 100)
    step = f" {f.unit}" if f.unit else " 个百分点"
    if shortfall == 0:
        points = rule.weight
    else:  # without a per-point deduction, missing the target earns nothing
        points = max(0.0, rule.weight - rule.per_point_below * shortfall) if rule.per_point_below else 0.0
    target = _target(rule, f.unit)
    if shortfall == 0:
        formula = f"{_ratio(f)} ≥ {target}，得 {rule.weight:g}"
    elif rule.per_point_below:
        formula = (f"{_ratio(f)} 低于 {target} {shortfall:.2f}{step}，"
                   f"{rule.weight:g} − {rule.per_point_below:g} × {shortfall:.2f}")
    else:
        formula = f"{_ratio(f)} 未达到 {target}，得 0"
    return _words(rule, f.unit), points, formula


def _words(rule: Rule, unit: str = "") -> str:
    if rule.kind is RuleKind.WEIGHTED:
        return f"{'(1 − 比率)' if rule.invert else '比率'} × {rule.weight:g}"
    per = f"每低 1 {unit}" if unit else "每低 1 个百分点"
    below = f"，{per}扣 {rule.per_point_below:g} 分" if rule.per_point_below else "，未达标不得分"
    return f"达到 {_target(rule, unit)} 得 {rule.weight:g} 分{below}"


# --- reading profiles ---------------------------------------------------------------------------------------

def parse_profile(data: Mapping[str, Any], catalog: Catalog) -> Profile:
    """A profile from its YAML document; indicators are checked against the catalog and the objects."""
    pid = str(data["id"])
    objects = tuple(ObjectKind(o) for o in data["objects"])
    rules = tuple(_rule(pid, spec, catalog, objects) for spec in data["rules"])
    grades = tuple(sorted((Grade(float(g["min"]), str(g["label"])) for g in data.get("grades", [])),
                          key=lambda g: -g.minimum))
    return Profile(pid, int(data["version"]), str(data["name"]), objects, rules, grades,
                   str(data.get("description", "")).strip())


def _rule(pid: str, spec: Mapping[str, Any], catalog: Catalog, objects: tuple[ObjectKind, ...]) -> Rule:
    ind = catalog.indicators.get(spec["indicator"])
    if ind is None:
        raise CatalogError(f"评分方案 {pid} 引用了未知指标：{spec['indicator']}")
    missing = [o.label for o in objects if o not in ind.objects]
    if missing:
        raise CatalogError(f"评分方案 {pid} 的指标 {ind.name} 不适用于：{'、'.join(missing)}")
    kind = RuleKind(spec.get("kind", "weighted"))
    if kind is RuleKind.THRESHOLD and ind.unit:
        pass  # a threshold on a quantity (e.g. 日均在岗时长 ≥ 6 小时): the target is in its unit
    elif kind in (RuleKind.WEIGHTED, RuleKind.THRESHOLD) and not ind.is_rate:
        raise CatalogError(f"评分方案 {pid}：{ind.name} 是计数，不能按比率计分")
    tiers = tuple(sorted((float(t["min"]), float(t["points"])) for t in spec.get("tiers", [])))
    if kind is RuleKind.TIERS and not tiers:
        raise CatalogError(f"评分方案 {pid}：{ind.name} 的分档 tiers 为空")
    floor = spec.get("floor")
    return Rule(ind.id, kind, float(spec.get("weight", 0)), bool(spec.get("invert", False)),
                float(spec.get("target", 0)), float(spec.get("per_point_below", 0)),
                float(spec.get("points_per_case", 0)), None if floor is None else float(floor), tiers,
                str(spec.get("when_empty", "full")))


@dataclass(frozen=True)
class ProfileBook:
    """All versions of all profiles; `get(id)` is the newest version, `get(id, v)` a kept one."""

    profiles: Mapping[tuple[str, int], Profile]

    @classmethod
    def of(cls, profiles: Iterable[Profile]) -> ProfileBook:
        book: dict[tuple[str, int], Profile] = {}
        for p in profiles:
            if (p.id, p.version) in book:
                raise CatalogError(f"评分方案 {p.id} 第 {p.version} 版重复")
            book[(p.id, p.version)] = p
        return cls(book)

    def get(self, profile_id: str, version: int | None = None) -> Profile | None:
        if version is not None:
            return self.profiles.get((profile_id, version))
        versions = [v for (pid, v) in self.profiles if pid == profile_id]
        return self.profiles[(profile_id, max(versions))] if versions else None

    def latest(self) -> list[Profile]:
        ids = sorted({pid for pid, _ in self.profiles})
        return [p for p in (self.get(i) for i in ids) if p is not None]
