"""SQL storage of the base data: rows ↔ objects, loading a snapshot, importing in one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.geo.domain.features import GeoObject
from ticketing.geo.domain.gazetteer import BaseData
from ticketing.geo.domain.geometry import bbox_of, lines_of, polygons_of
from ticketing.geo.domain.model import AddressPoint, Cell, Community, Component, DutyGrid, Road, Street
from ticketing.geo.tables import (
    geo_addresses,
    geo_cells,
    geo_communities,
    geo_components,
    geo_duty_grids,
    geo_roads,
    geo_streets,
)

Row = dict[str, Any]
CHUNK = 500

TABLE_OF = {
    "streets": geo_streets, "communities": geo_communities, "cells": geo_cells, "duty_grids": geo_duty_grids,
    "roads": geo_roads, "addresses": geo_addresses, "components": geo_components,
}
_KEY = {"streets": "code", "communities": "code", "cells": "code", "duty_grids": "code", "roads": "name",
        "addresses": "id", "components": "id"}


def _geometry_columns(geometry: dict[str, Any]) -> Row:
    if geometry.get("type") in ("LineString", "MultiLineString"):
        points = [p for line in lines_of(geometry) for p in line]
    else:
        points = [p for polygon in polygons_of(geometry) for p in polygon[0]]
    box = bbox_of(points)
    return {"geometry": json.dumps(geometry, ensure_ascii=False, separators=(",", ":")),
            "min_lon": box[0], "min_lat": box[1], "max_lon": box[2], "max_lat": box[3]}


def to_row(obj: GeoObject) -> Row:
    """The table row of an object."""
    if isinstance(obj, AddressPoint | Component):
        row = {k: getattr(obj, k) for k in obj.__slots__}  # type: ignore[union-attr]
        if isinstance(obj, AddressPoint):
            row["aliases"] = ",".join(obj.aliases)
        return row
    row = {k: getattr(obj, k) for k in obj.__slots__ if k != "geometry"}  # type: ignore[union-attr]
    if isinstance(obj, Road):
        row["aliases"] = ",".join(obj.aliases)
    row.update(_geometry_columns(obj.geometry))
    return row


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(a for a in (text or "").split(",") if a)


def _geo(row: Any) -> dict[str, Any]:
    return json.loads(row.geometry)


_FROM_ROW: dict[str, Callable[[Any], GeoObject]] = {
    "streets": lambda r: Street(r.code, r.name, r.dept_code, _geo(r), r.demo),
    "communities": lambda r: Community(r.code, r.name, r.street_code, _geo(r), r.dept_code, r.demo),
    "cells": lambda r: Cell(r.code, r.community_code, _geo(r), r.duty_grid, r.area_m2, r.demo),
    "duty_grids": lambda r: DutyGrid(r.code, r.name, r.inspector, _geo(r), r.demo),
    "roads": lambda r: Road(r.name, _geo(r), r.kind, _split(r.aliases), r.demo),
    "addresses": lambda r: AddressPoint(r.id, r.kind, r.name, r.lon, r.lat, r.road, r.number, _split(r.aliases),
                                        r.cell_code, r.demo),
    "components": lambda r: Component(r.id, r.class_code, r.lon, r.lat, r.state, r.authority_dept, r.owner_dept,
                                      r.maintainer_dept, r.cell_code, r.address, r.note, r.demo),
}


class SqlGeoRepository:
    """Reads and writes the geo tables of one database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load(self) -> BaseData:
        """One consistent snapshot of all base data."""
        async with self.engine.connect() as conn:
            parts = {kind: tuple(await self._rows(conn, kind)) for kind in TABLE_OF}
        return BaseData(**parts)  # type: ignore[arg-type]

    async def _rows(self, conn: AsyncConnection, kind: str) -> list[GeoObject]:
        table = TABLE_OF[kind]
        result = await conn.execute(select(table).order_by(table.c[_KEY[kind]]))
        return [_FROM_ROW[kind](row) for row in result]

    async def objects(self, kind: str) -> list[GeoObject]:
        async with self.engine.connect() as conn:
            return await self._rows(conn, kind)

    async def component(self, component_id: str) -> Component | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(geo_components).where(geo_components.c.id == component_id))).first()
        return _FROM_ROW["components"](row) if row else None  # type: ignore[return-value]

    async def counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            return {kind: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                    for kind, t in TABLE_OF.items()}

    async def import_objects(self, batches: Sequence[tuple[str, Sequence[GeoObject]]], *, replace: bool = False,
                             progress: Callable[[int], None] | None = None) -> dict[str, int]:
        """Write objects of one or more kinds in ONE transaction: all of them or none.

        With `replace`, every existing row of each kind is deleted first; otherwise rows with the same
        key are replaced and others kept.
        """
        written: dict[str, int] = {}
        async with self.engine.begin() as conn:
            for kind, objects in batches:
                table = TABLE_OF[kind]
                rows = [to_row(r) for r in objects]
                if replace:
                    await conn.execute(delete(table))
                else:
                    await self._delete_keys(conn, table, _KEY[kind], [r[_KEY[kind]] for r in rows])
                for chunk in _chunks(rows, CHUNK):
                    await conn.execute(table.insert(), chunk)
                    if progress:
                        progress(len(chunk))
                written[kind] = len(rows)
        return written

    @staticmethod
    async def _delete_keys(conn: AsyncConnection, table: Table, key: str, keys: list[Any]) -> None:
        for chunk in _chunks(keys, CHUNK):
            await conn.execute(delete(table).where(table.c[key].in_(chunk)))


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
