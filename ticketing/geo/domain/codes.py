"""Codes of the unit grid (CJ/T 213) and of components (CJ/T 214).

Cell code = county (6, GB/T 2260) + street/town (3) + community (3) + sequence (2 in CJ/T 213 use, 3 in
GB/T 30428.1 use; the width is configuration). Component id = county (6) + 大类 (2) + 小类 (2) + serial (6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMPONENT_STATES = ("完好", "破损", "丢失", "废弃")

# CJ/T 214 component classes (大类 + 小类 → name). Numbering past 0126 differs between cities.
COMPONENT_CLASSES: dict[str, str] = {
    "0101": "上水井盖", "0102": "污水井盖", "0103": "雨水井盖", "0104": "雨水箅子", "0105": "电力井盖",
    "0106": "路灯井盖", "0107": "通讯井盖", "0108": "电视井盖", "0109": "网络井盖", "0110": "热力井盖",
    "0111": "燃气井盖", "0112": "公安井盖", "0113": "消防设施", "0114": "无主井盖", "0115": "通讯交接箱",
    "0116": "电力设施", "0117": "立杆", "0118": "路灯", "0119": "地灯", "0120": "景观灯", "0121": "报刊亭",
    "0122": "电话亭", "0123": "邮筒", "0124": "信息亭", "0125": "自动售货机", "0126": "健身设施",
    "0201": "停车场", "0202": "停车咪表", "0203": "公交站亭", "0204": "出租车站牌", "0205": "过街天桥",
    "0206": "地下通道", "0207": "高架立交桥", "0208": "跨河桥", "0209": "交通标志牌", "0210": "交通信号灯",
    "0211": "交通护栏", "0212": "存车支架", "0213": "路名牌", "0214": "交通信号设施", "0215": "道路信息显示屏",
    "0216": "道路隔音屏", "0217": "交通岗亭",
    "0301": "公共厕所", "0302": "化粪池", "0303": "公厕指示牌", "0304": "垃圾间(楼)", "0305": "垃圾箱",
    "0306": "灯箱霓虹灯", "0307": "广告牌匾", "0308": "环境监测站",
    "0401": "古树名木", "0402": "行道树", "0403": "护树设施", "0404": "花架花钵", "0405": "绿地", "0406": "雕塑",
    "0407": "街头座椅", "0408": "绿地护栏", "0409": "绿地维护设施", "0410": "喷泉",
    "0501": "宣传栏", "0502": "人防工事", "0503": "公房地下室",
    "0601": "重大危险源", "0602": "工地", "0603": "水域附属设施", "0604": "水域护栏",
}
CLASS_BY_NAME: dict[str, str] = {name: code for code, name in COMPONENT_CLASSES.items()}


class CodeError(ValueError):
    """A code does not have the required shape; `code` is the stable machine code of the problem."""

    code = "geo.bad_code"


@dataclass(frozen=True, slots=True)
class CellCode:
    """A parsed unit-cell code."""

    county: str
    street: str
    community: str
    sequence: str

    def __str__(self) -> str:
        return self.county + self.street + self.community + self.sequence

    @property
    def street_code(self) -> str:
        """9-digit street/town code (county + 3)."""
        return self.county + self.street

    @property
    def community_code(self) -> str:
        """12-digit community code (county + street + community)."""
        return self.county + self.street + self.community


def parse_cell_code(code: str, width: int = 2) -> CellCode:
    """Split a cell code of 12 + `width` digits; raise CodeError when malformed."""
    if width not in (2, 3):
        raise CodeError(f"单元网格顺序码宽度只能是2或3，而不是{width}")
    if not re.fullmatch(rf"\d{{{12 + width}}}", code or ""):
        raise CodeError(f"单元网格编码“{code}”应为{12 + width}位数字")
    street = code[6:9]
    if street == "000" or code[9:12] == "000" or int(code[12:]) == 0:
        raise CodeError(f"单元网格编码“{code}”中的街道、社区或顺序码不能为0")
    return CellCode(code[:6], street, code[9:12], code[12:])


def format_cell_code(community_code: str, sequence: int, width: int = 2) -> str:
    """Build a cell code from a 12-digit community code and a 1-based sequence number."""
    if not re.fullmatch(r"\d{12}", community_code):
        raise CodeError(f"社区编码“{community_code}”应为12位数字")
    if not 1 <= sequence < 10**width:
        raise CodeError(f"单元网格顺序码{sequence}超出{width}位范围")
    return f"{community_code}{sequence:0{width}d}"


def rewidth_cell_code(code: str, width: int) -> str:
    """Re-encode a cell code with another sequence width (e.g. 14 → 15 digits)."""
    sequence = int(code[12:])
    return format_cell_code(code[:12], sequence, width)


def street_kind(street3: str) -> str:
    """GB/T 2260 practice: 001–099 街道, 100–199 镇, 200–399 乡."""
    number = int(street3)
    if 1 <= number <= 99:
        return "街道"
    if 100 <= number <= 199:
        return "镇"
    if 200 <= number <= 399:
        return "乡"
    raise CodeError(f"街道/乡镇码“{street3}”不在001–399范围内")


@dataclass(frozen=True, slots=True)
class ComponentId:
    """A parsed 16-digit component id."""

    county: str
    class_code: str
    serial: str

    def __str__(self) -> str:
        return self.county + self.class_code + self.serial


def parse_component_id(component_id: str) -> ComponentId:
    """Split a 16-digit component id; raise CodeError when malformed or of an unknown class."""
    if not re.fullmatch(r"\d{16}", component_id or ""):
        raise CodeError(f"部件编码“{component_id}”应为16位数字")
    class_code = component_id[6:10]
    if class_code not in COMPONENT_CLASSES:
        raise CodeError(f"部件编码“{component_id}”的类别{class_code}不在部件分类中")
    if component_id[10:] == "000000":
        raise CodeError(f"部件编码“{component_id}”的流水号不能为0")
    return ComponentId(component_id[:6], class_code, component_id[10:])


def format_component_id(county: str, class_code: str, serial: int) -> str:
    """Build a 16-digit component id."""
    if class_code not in COMPONENT_CLASSES:
        raise CodeError(f"未知部件类别{class_code}")
    if not 1 <= serial <= 999_999:
        raise CodeError(f"部件流水号{serial}超出6位范围")
    return f"{county}{class_code}{serial:06d}"


def resolve_class(value: str) -> str:
    """Accept a 4-digit class code or a class name (路灯) and return the code; raise CodeError otherwise."""
    value = (value or "").strip()
    if value in COMPONENT_CLASSES:
        return value
    if value in CLASS_BY_NAME:
        return CLASS_BY_NAME[value]
    raise CodeError(f"未知部件类别“{value}”")
