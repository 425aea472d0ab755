"""The indicator catalog as data: facts (what the history says about a case or an act at the period end),
case sets (boolean expressions over facts, e.g. 应结案), and indicators (numerator set / denominator set).

The facts are the only part written in code (ticketing/evaluation/sql.py turns each into SQL); which facts make
a set and which sets make an indicator is read from ticketing/evaluation/data/indicators.yaml.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any


class Family(StrEnum):
    CASE = "case"  # one row per case: regions and departments
    POST = "post"  # one row per act in the history (上报, 核实, 核查, 立案, 派遣, 受理): posts


class ObjectKind(StrEnum):
    STREET = "street"
    COMMUNITY = "community"
    CELL = "cell"
    DUTY_GRID = "duty_grid"
    DEPARTMENT = "department"
    INSPECTOR = "inspector"
    AGENT = "agent"
    LEAD = "lead"
    DISPATCHER = "dispatcher"

    @property
    def family(self) -> Family:
        return Family.POST if self in POSTS else Family.CASE

    @property
    def label(self) -> str:
        return OBJECT_LABELS[self]


POSTS = frozenset({ObjectKind.INSPECTOR, ObjectKind.AGENT, ObjectKind.LEAD, ObjectKind.DISPATCHER})
OBJECT_LABELS = {
    ObjectKind.STREET: "街道", ObjectKind.COMMUNITY: "社区", ObjectKind.CELL: "单元网格",
    ObjectKind.DUTY_GRID: "责任网格", ObjectKind.DEPARTMENT: "部门", ObjectKind.INSPECTOR: "监督员",
    ObjectKind.AGENT: "受理员", ObjectKind.LEAD: "值班长", ObjectKind.DISPATCHER: "派遣员",
}

# Facts per family, with what each means. S and E are the period's start and end; "at the end" = just before E.
FACTS: dict[Family, dict[str, str]] = {
    Family.CASE: {
        "registered_in_period": "在本期内立案",
        "registered_by_end": "期末前已立案",
        "handled_in_period": "在本期内提交处置反馈",
        "closed_in_period": "在本期内结案",
        "void_at_end": "期末状态为作废",
        "backlog_at_end": "期末状态为挂账",
        "closed_at_end": "期末状态为已结案",
        "handled_at_end": "期末状态为待核查结案或已结案（处置已完成）",
        "had_rework": "期末前有过核查不通过（返工）",
        "had_extension": "期末前有过批准的延期",
        "handling_late": "本期内完成的处置超过时限，或期末仍在处置且已超时",
        "handling_ever_late": "期末前任一次处置超过时限（含期末仍在处置且已超时）",
        "handling_overdue_open": "期末仍在处置且处置时限已过",
        "overdue_open": "期末未结案且当前环节（派遣、处置、核查、结案）已超时",
        "public_source": "来源为公众（热线、网站、Open311、12345），非监督员上报",
    },
    Family.POST: {
        "is_report": "监督员上报案件",
        "is_verify": "监督员核实反馈",
        "is_check": "监督员核查（通过或不通过）",
        "is_accept": "受理",
        "is_register": "立案",
        "is_dispatch": "派遣",
        "registered_by_end": "案件期末前已立案",
        "void_at_end": "案件期末状态为作废",
        "on_time": "该操作在所属环节的时限内完成（核实：在发核实后的规定时间内）",
        "returned": "该次派遣在期末前被回退",
    },
}


# Measures: quantities per inspector that are not counts of acts, from the duty records and the trail
# (ticketing/evaluation/attendance.py). An indicator may name one as numerator or denominator instead of a set.
MEASURES: dict[str, str] = {
    "duty_minutes": "在岗分钟数：本期内各次上岗至下岗的时长（跨期的只计期内部分，未下岗的计至评价时刻）",
    "duty_days": "在岗天数：本期内有在岗时间的自然日数",
    "trail_m": "巡查里程（米）：在岗期间位置轨迹的长度，剔除定位精度差于参数值的点和超过参数速度的跳点",
}
MEASURE_OBJECTS = frozenset({ObjectKind.INSPECTOR})


@dataclass(frozen=True, slots=True)
class Fact:
    name: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class All:
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    operands: tuple[Expr, ...]


Expr = Fact | Not | All | AnyOf


@dataclass(frozen=True, slots=True)
class CaseSet:
    """A named set of cases (or acts) with the expression that selects them; sets may use other sets."""

    id: str
    name: str
    family: Family
    expr: Expr  # references to other sets are already expanded into facts
    rule: str = ""  # the definition in words, naming the sets it uses (「应结案数」)


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    name: str
    family: Family
    objects: tuple[ObjectKind, ...]
    numerator: str  # a set id
    denominator: str | None  # a set id; None for a count
    period_rule: str
    higher_is_better: bool = True
    unit: str = ""  # a quantity (小时, 公里, 件/小时) rather than a count or a rate
    scale: float = 1.0  # value = numerator × scale (÷ denominator)

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None and not self.unit

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(r for r in (self.numerator, self.denominator) if r in MEASURES)


@dataclass(frozen=True)
class Catalog:
    version: int
    sets: Mapping[str, CaseSet]
    indicators: Mapping[str, Indicator]
    parameters: Mapping[str, float]

    def for_object(self, kind: ObjectKind) -> list[Indicator]:
        return [i for i in self.indicators.values() if kind in i.objects]

    def sets_for(self, indicators: list[Indicator]) -> list[CaseSet]:
        ids = dict.fromkeys(s for i in indicators for s in (i.numerator, i.denominator) if s)
        return [self.sets[s] for s in ids if s in self.sets]  # measures are not sets


class CatalogError(ValueError):
    """The catalog file is inconsistent (unknown fact, set or object, cycle); raised when it is loaded."""


def evaluate(expr: Expr, facts: Mapping[str, bool]) -> bool:
    """The expression over one row's facts (the same meaning the SQL adapter gives it)."""
    match expr:
        case Fact(name):
            return bool(facts[name])
        case Not(operand):
            return not evaluate(operand, facts)
        case All(operands):
            return all(evaluate(e, facts) for e in operands)
        case AnyOf(operands):
            return any(evaluate(e, facts) for e in operands)
    raise TypeError(expr)


def fold(expr: Expr, fact: Callable[[str], Any], not_: Callable[[Any], Any], all_: Callable[..., Any],
         any_: Callable[..., Any]) -> Any:
    """Translate an expression bottom-up (the SQL adapter builds its WHERE clauses with this)."""
    match expr:
        case Fact(name):
            return fact(name)
        case Not(operand):
            return not_(fold(operand, fact, not_, all_, any_))
        case All(operands):
            return all_(*(fold(e, fact, not_, all_, any_) for e in operands))
        case AnyOf(operands):
            return any_(*(fold(e, fact, not_, all_, any_) for e in operands))
    raise TypeError(expr)


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    """Build the catalog from the YAML document; every reference is checked here, not when computing."""
    raw_sets: Mapping[str, Any] = data.get("sets") or {}
    clash = sorted(set(raw_sets) & {f for facts in FACTS.values() for f in facts})
    if clash:
        raise CatalogError(f"集合名与事实名重复：{'、'.join(clash)}")
    sets: dict[str, CaseSet] = {}
    for set_id in raw_sets:
        _resolve_set(set_id, raw_sets, sets, ())
    indicators = {}
    for spec in data.get("indicators") or []:
        indicator = _indicator(spec, sets)
        indicators[indicator.id] = indicator
    params = {k: float(v) for k, v in (data.get("parameters") or {}).items()}
    return Catalog(int(data.get("version", 1)), sets, indicators, params)


def _resolve_set(set_id: str, raw: Mapping[str, Any], done: dict[str, CaseSet], stack: tuple[str, ...]) -> CaseSet:
    if set_id in done:
        return done[set_id]
    if set_id in stack:
        raise CatalogError(f"集合循环引用：{' → '.join((*stack, set_id))}")
    spec = raw[set_id]
    try:
        family = Family(spec.get("family", "case"))
    except ValueError as exc:
        raise CatalogError(f"集合 {set_id} 的 family 未知：{spec.get('family')}") from exc

    def ref(name: str) -> Expr:
        if name in FACTS[family]:
            return Fact(name)
        if name in raw:
            other = _resolve_set(name, raw, done, (*stack, set_id))
            if other.family is not family:
                raise CatalogError(f"集合 {set_id} 引用了另一类的集合 {name}")
            return other.expr
        raise CatalogError(f"集合 {set_id} 引用了未知的事实或集合：{name}")

    expr = _expr(spec["when"], ref)
    done[set_id] = CaseSet(set_id, str(spec.get("name", set_id)), family, expr, _words(spec["when"], raw, family))
    return done[set_id]


def _words(node: Any, raw: Mapping[str, Any], family: Family) -> str:
    """The unexpanded definition in words: other sets by their names, facts by their meanings."""
    if isinstance(node, str):
        text = node.strip()
        if text.startswith("not "):
            return f"非（{_words(text[4:], raw, family)}）"
        return f"「{raw[text].get('name', text)}」" if text in raw else FACTS[family][text]
    if isinstance(node, list):
        return "且".join(_wrap(_words(n, raw, family)) for n in node)
    (op, items), = node.items()
    joined = [_wrap(_words(n, raw, family)) for n in items]
    return "且".join(joined) if op == "all" else "或".join(joined)


def _wrap(text: str) -> str:
    return f"（{text}）" if ("且" in text or "或" in text) and not text.startswith("非（") else text


def _expr(node: Any, ref: Callable[[str], Expr]) -> Expr:
    if isinstance(node, str):
        text = node.strip()
        if text.startswith("not "):
            return Not(_expr(text[4:], ref))
        return ref(text)
    if isinstance(node, list):
        return All(tuple(_expr(n, ref) for n in node))
    if isinstance(node, dict) and len(node) == 1:
        (op, items), = node.items()
        if op in ("all", "any") and isinstance(items, list) and items:
            parts = tuple(_expr(n, ref) for n in items)
            return All(parts) if op == "all" else AnyOf(parts)
    raise CatalogError(f"无法理解的条件：{node!r}（应为事实名、'not 名称'、列表或 {{any: [...]}}）")


def _indicator(spec: Mapping[str, Any], sets: Mapping[str, CaseSet]) -> Indicator:
    ind_id = str(spec["id"])
    num, den = spec["numerator"], spec.get("denominator")
    for ref in (num, den):
        if ref is not None and ref not in sets and ref not in MEASURES:
            raise CatalogError(f"指标 {ind_id} 引用了未知集合：{ref}")

    def family_of(ref: str) -> Family:
        return sets[ref].family if ref in sets else Family.POST  # measures belong to posts (inspectors)

    family = family_of(num)
    if den is not None and family_of(den) is not family:
        raise CatalogError(f"指标 {ind_id} 的分子与分母属于不同类别")
    try:
        objects = tuple(ObjectKind(o) for o in spec["objects"])
    except ValueError as exc:
        raise CatalogError(f"指标 {ind_id} 的评价对象未知：{spec['objects']}") from exc
    if any(o.family is not family for o in objects):
        raise CatalogError(f"指标 {ind_id} 的评价对象与其集合类别不符")
    if any(r in MEASURES for r in (num, den)) and not set(objects) <= MEASURE_OBJECTS:
        raise CatalogError(f"指标 {ind_id} 用到在岗数据，只适用于监督员")
    return Indicator(ind_id, str(spec["name"]), family, objects, num, den, str(spec.get("period_rule", "")),
                     bool(spec.get("higher_is_better", True)), str(spec.get("unit", "")),
                     _scale(ind_id, spec.get("scale", 1)))


def _scale(ind_id: str, raw: Any) -> float:
    """A number or a fraction written "1/60"."""
    try:
        return float(Fraction(str(raw)))
    except (ValueError, ZeroDivisionError) as exc:
        raise CatalogError(f"指标 {ind_id} 的 scale 应为数或分数（如 1/60）：{raw!r}") from exc
