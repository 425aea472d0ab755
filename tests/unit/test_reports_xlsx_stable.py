"""An XLSX export depends on its data and period only, not on the second it is written."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

from openpyxl import load_workbook

from web.reports import exports
from web.reports.data import Column, Table


def test_two_saves_seconds_apart_are_the_same_file() -> None:
    table = Table("t", "部门排名", (Column("name", "部门"), Column("rate", "按期结案率", "rate")),
                  [{"name": "海盐县市政管理所", "rate": 0.875}])
    when = datetime.fromtimestamp(0, UTC).replace(year=2020)  # any fixed period end
    first = exports.xlsx([table], title="测试", when=when)
    time.sleep(2.1)  # zip members carry a two-second-resolution time stamp
    assert exports.xlsx([table], title="测试", when=when) == first
    sheet = load_workbook(io.BytesIO(first))["部门排名"]
    assert [c.value for c in sheet[2]] == ["海盐县市政管理所", 0.875]
