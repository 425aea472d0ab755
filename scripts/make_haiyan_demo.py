#!/usr/bin/env python
"""Generate the Haiyan demo base data (海盐县武原街道, 演示数据) from config/data/haiyan/layout.yaml.

Deterministic: the same layout and seed give byte-identical GeoJSON files, so the files are committed and a
seed does not need this script. Usage: `python scripts/make_haiyan_demo.py [--out DIR]`.
"""

from __future__ import annotations

import argparse
import bisect
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ticketing.geo.domain.codes import format_cell_code, format_component_id  # noqa: E402
from ticketing.geo.domain.features import DEMO_SUFFIX, to_feature  # noqa: E402
from ticketing.geo.domain.geometry import M_PER_DEG_LAT, m_per_deg_lon, ring_area_m2  # noqa: E402
from ticketing.geo.domain.model import (  # noqa: E402
    AddressPoint,
    Cell,
    Community,
    Component,
    DutyGrid,
    Road,
    Street,
)
from ticketing.geo.domain.spatial import PolygonIndex  # noqa: E402
from ticketing.geo.formats import dump_geojson  # noqa: E402

LAYOUT = ROOT / "config" / "data" / "haiyan" / "layout.yaml"
XY = tuple[float, float]


@dataclass(frozen=True)
class Frame:
    """Metres east/north of the south-west corner → WGS-84, one scale for the whole (small) area."""

    lon0: float
    lat0: float
    deg_per_m_x: float
    deg_per_m_y: float

    def at(self, x: float, y: float) -> tuple[float, float]:
        return (round(self.lon0 + x * self.deg_per_m_x, 7), round(self.lat0 + y * self.deg_per_m_y, 7))

    def box(self, x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
        ring = [self.at(x0, y0), self.at(x1, y0), self.at(x1, y1), self.at(x0, y1), self.at(x0, y0)]
        return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


@dataclass(frozen=True)
class RoadSpec:
    name: str
    start: XY
    end: XY
    kind: str

    @property
    def length(self) -> float:
        return abs(self.end[0] - self.start[0]) + abs(self.end[1] - self.start[1])  # axis-aligned

    def along(self, d: float, side: float) -> XY:
        """The point `d` m from the start, `side` m to the left (negative: right)."""
        ux = (self.end[0] - self.start[0]) / self.length
        uy = (self.end[1] - self.start[1]) / self.length
        return (self.start[0] + ux * d - uy * side, self.start[1] + uy * d + ux * side)

    def number_at(self, d: float, left: bool) -> int:
        k = max(0, round((d - 15) / 16))
        return 2 * k + 1 if left else 2 * k + 2


def make_frame(layout: dict[str, Any]) -> Frame:
    lon0, lat0 = layout["origin"]
    mid_lat = lat0 + layout["size_m"][1] / 2 / M_PER_DEG_LAT
    return Frame(lon0, lat0, 1 / m_per_deg_lon(mid_lat), 1 / M_PER_DEG_LAT)


class Builder:
    def __init__(self, layout: dict[str, Any]) -> None:
        self.layout = layout
        self.frame = make_frame(layout)
        self.rng = random.Random(layout["seed"])
        self.county = layout["county"]["code"]
        self.street9 = self.county + layout["street"]["code"]
        self.roads = [RoadSpec(r["name"], tuple(r["from"]), tuple(r["to"]), r.get("kind", "路"))
                      for r in layout["roads"]]
        self.cells: list[Cell] = []
        self.index: PolygonIndex | None = None
        self.serials: dict[str, int] = {}

    def street(self) -> Street:
        w, h = self.layout["size_m"]
        spec = self.layout["street"]
        return Street(self.street9, spec["name"], spec["dept"], self.frame.box(0, 0, w, h), True)

    def community_code(self, x: float, y: float) -> str:
        col = bisect.bisect_right(self.layout["columns_m"], x) - 1
        row = bisect.bisect_right(self.layout["rows_m"], y) - 1
        return f"{self.street9}{row * (len(self.layout['columns_m']) - 1) + col + 1:03d}"

    def communities(self) -> list[Community]:
        cols, rows = self.layout["columns_m"], self.layout["rows_m"]
        names = iter(self.layout["communities"])
        found = []
        for r in range(len(rows) - 1):
            for c in range(len(cols) - 1):
                geometry = self.frame.box(cols[c], rows[r], cols[c + 1], rows[r + 1])
                code = self.community_code(cols[c], rows[r])
                found.append(Community(code, next(names), self.street9, geometry, None, True))
        return found

    def duty_code(self, x: float, y: float) -> str:
        cols = self.layout["columns_m"]
        row = bisect.bisect_right(self.layout["rows_m"], y) - 1
        half = 0 if x < cols[len(cols) // 2] else 1
        return f"{self.street9}-ZR{row * 2 + half + 1:02d}"

    def duty_grids(self) -> list[DutyGrid]:
        cols, rows = self.layout["columns_m"], self.layout["rows_m"]
        mid = cols[len(cols) // 2]
        grids = []
        for r in range(len(rows) - 1):
            for half, (x0, x1) in enumerate(((cols[0], mid), (mid, cols[-1]))):
                number = r * 2 + half + 1
                name = f"{self.layout['street']['name']}第{number}责任网格"
                geometry = self.frame.box(x0, rows[r], x1, rows[r + 1])
                grids.append(DutyGrid(f"{self.street9}-ZR{number:02d}", name, f"inspector{number:02d}",
                                      geometry, True))
        return grids

    def make_cells(self) -> list[Cell]:
        step = self.layout["cell_m"]
        w, h = self.layout["size_m"]
        sequence: dict[str, int] = {}
        for y in range(0, h, step):
            for x in range(0, w, step):
                community = self.community_code(x, y)
                sequence[community] = sequence.get(community, 0) + 1
                geometry = self.frame.box(x, y, x + step, y + step)
                ring = tuple(tuple(p) for p in geometry["coordinates"][0])
                code = format_cell_code(community, sequence[community], 2)
                self.cells.append(Cell(code, community, geometry, self.duty_code(x, y),
                                       ring_area_m2(ring), True))  # type: ignore[arg-type]
        self.index = PolygonIndex((c.code, [(tuple(tuple(p) for p in c.geometry["coordinates"][0]),)])
                                  for c in self.cells)
        return self.cells

    def cell_of(self, xy: XY) -> str | None:
        assert self.index is not None
        return self.index.locate(*self.frame.at(*xy))

    def road_records(self) -> list[Road]:
        return [Road(r.name, {"type": "LineString", "coordinates": [list(self.frame.at(*r.start)),
                                                                      list(self.frame.at(*r.end))]},
                     r.kind, (), True) for r in self.roads]

    def doorplates(self) -> Iterator[AddressPoint]:
        serial = 0
        for road in self.roads:
            k = 0
            while (d := 15 + 16 * k) < road.length - 5:
                for left, number in ((True, 2 * k + 1), (False, 2 * k + 2)):
                    if self.rng.random() < 0.2:
                        continue  # not every number exists: the geocoder interpolates
                    serial += 1
                    xy = road.along(d, 12 if left else -12)
                    lon, lat = self.frame.at(*xy)
                    yield AddressPoint(f"MP{serial:06d}", "门牌", f"{road.name}{number}号", lon, lat,
                                       road.name, number, (), self.cell_of(xy), True)
                k += 1

    def places(self) -> Iterator[AddressPoint]:
        for n, spec in enumerate(self.layout["landmarks"], 1):
            xy = tuple(spec["at"])
            lon, lat = self.frame.at(*xy)
            aliases = tuple(a for a in spec.get("aliases", ()) if a != spec["name"])
            yield AddressPoint(f"DB{n:04d}", "地标", spec["name"], lon, lat, None, None, aliases,
                               self.cell_of(xy), True)
        for n, spec in enumerate(self.layout["compounds"], 1):
            x0, y0, x1, y1 = spec["box"]
            xy = ((x0 + x1) / 2, (y0 + y1) / 2)
            lon, lat = self.frame.at(*xy)
            yield AddressPoint(f"XQ{n:04d}", "小区", spec["name"], lon, lat, None, None,
                               tuple(spec.get("aliases", ())), self.cell_of(xy), True)

    def component(self, class_code: str, xy: XY, depts: tuple[str, str, str], address: str) -> Component:
        self.serials[class_code] = self.serials.get(class_code, 0) + 1
        cid = format_component_id(self.county, class_code, self.serials[class_code])
        roll = self.rng.random()
        state = "完好" if roll < 0.9 else "破损" if roll < 0.96 else "丢失" if roll < 0.99 else "废弃"
        lon, lat = self.frame.at(*xy)
        authority, owner, maintainer = depts
        return Component(cid, class_code, lon, lat, state, authority, owner, maintainer, self.cell_of(xy),
                         address, None, True)


# class → (主管, 权属, 养护) departments (codes of config/data/departments.yaml)
COVERS = (("0101", ("zjj", "sgs", "sgs")), ("0102", ("szs", "szs", "szs")), ("0103", ("szs", "szs", "szs")),
          ("0105", ("zjj", "gdgs", "gdgs")), ("0107", ("zjj", "dxgs", "dxgs")), ("0111", ("zjj", "rqgs", "rqgs")))
COVER_WEIGHTS = (3, 3, 4, 2, 2, 1)


def along_road(b: Builder, road: RoadSpec, start: float, step: float) -> Iterator[tuple[int, float]]:
    i, d = 0, start
    while d < road.length - 5:
        yield i, d
        i, d = i + 1, d + step


def road_components(b: Builder, road: RoadSpec) -> Iterator[Component]:
    layout = b.layout

    def addr(d: float, left: bool) -> str:
        return f"{road.name}{road.number_at(d, left)}号附近"

    power = road.name in layout["lights_by_power_company"]
    lamp_depts = ("szs", "gdgs", "gdgs") if power else ("szs", "szs", "szs")
    for i, d in along_road(b, road, 25, 50):
        yield b.component("0118", road.along(d, 10 if i % 2 else -10), lamp_depts, addr(d, i % 2 == 1))
    for _, d in along_road(b, road, 50, 100):
        code, depts = b.rng.choices(COVERS, COVER_WEIGHTS)[0]
        side = round(b.rng.uniform(-6, 6), 1)
        yield b.component(code, road.along(d, side), depts, addr(d, side > 0))
    for i, d in along_road(b, road, 75, 150):
        yield b.component("0305", road.along(d, 9 if i % 2 else -9), ("hws", "hws", "hws"), addr(d, i % 2 == 1))
    if road.name in layout["tree_lined"]:
        for i, d in along_road(b, road, 10, 50):
            yield b.component("0402", road.along(d, 8 if i % 2 else -8), ("lhs", "lhs", "lhs"),
                              addr(d, i % 2 == 1))
    if road.name in layout["bus_routes"]:
        for i, d in along_road(b, road, 250, 500):
            yield b.component("0203", road.along(d, 11 if i % 2 else -11), ("jtj", "gjgs", "gjgs"),
                              addr(d, i % 2 == 1))
    if road.kind == "大道":
        for _, d in along_road(b, road, 100, 200):
            yield b.component("0211", road.along(d, 0), ("jjdd", "szs", "szs"), f"{road.name}中央隔离带")


def crossings(roads: list[RoadSpec]) -> Iterator[tuple[RoadSpec, RoadSpec, XY]]:
    for i, a in enumerate(roads):
        for c in roads[i + 1:]:
            if (a.start[1] == a.end[1]) == (c.start[1] == c.end[1]):
                continue  # parallel (all declared roads are axis-aligned)
            ew, ns = (a, c) if a.start[1] == a.end[1] else (c, a)
            x, y = ns.start[0], ew.start[1]
            if min(ew.start[0], ew.end[0]) <= x <= max(ew.start[0], ew.end[0]) and \
                    min(ns.start[1], ns.end[1]) <= y <= max(ns.start[1], ns.end[1]):
                yield a, c, (x, y)


def junction_components(b: Builder) -> Iterator[Component]:
    for a, c, (x, y) in crossings(b.roads):
        where = f"{a.name}与{c.name}交叉口"
        yield b.component("0210", (x + 8, y + 8), ("jjdd", "jjdd", "jjdd"), where)
        yield b.component("0213", (x - 8, y + 8), ("zjj", "szs", "szs"), where)
        yield b.component("0213", (x + 8, y - 8), ("zjj", "szs", "szs"), where)


def toilets(b: Builder) -> Iterator[Component]:
    w, h = b.layout["size_m"]
    for _ in range(14):
        xy = (round(b.rng.uniform(100, w - 100)), round(b.rng.uniform(100, h - 100)))
        yield b.component("0301", xy, ("hws", "hws", "hws"), "公共厕所")


def build(layout: dict[str, Any]) -> dict[str, list[Any]]:
    """All demo objects by kind."""
    b = Builder(layout)
    data: dict[str, list[Any]] = {
        "streets": [b.street()], "communities": b.communities(), "cells": b.make_cells(),
        "duty_grids": b.duty_grids(), "roads": b.road_records(),
    }
    data["addresses"] = [*b.doorplates(), *b.places()]
    components = [c for road in b.roads for c in road_components(b, road)]
    data["components"] = components + list(junction_components(b)) + list(toilets(b))
    return data


def write(data: dict[str, list[Any]], out: Path, title: str) -> None:
    for kind, objects in data.items():
        meta = {"demo": True, "coordinate_system": "WGS-84"}
        dump_geojson((to_feature(r) for r in objects), out / f"{kind}.geojson", name=title, meta=meta)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=LAYOUT.parent, help="output folder")
    parser.add_argument("--layout", type=Path, default=LAYOUT)
    args = parser.parse_args(argv)
    layout = yaml.safe_load(args.layout.read_text(encoding="utf-8"))
    data = build(layout)
    write(data, args.out, layout["name"] + DEMO_SUFFIX)
    for kind, objects in data.items():
        print(f"{kind}: {len(objects)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
