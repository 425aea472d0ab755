"""The committed Haiyan demo base data (config/data/haiyan, 演示数据) and seeding it into a database."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.geo.domain.codes import rewidth_cell_code
from ticketing.geo.domain.features import KINDS, GeoObject, from_feature
from ticketing.geo.domain.gazetteer import BaseData, Gazetteer
from ticketing.geo.formats import load_geojson
from ticketing.geo.repository import SqlGeoRepository
from ticketing.geo.settings import GeoSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = PROJECT_ROOT / "config" / "data" / "haiyan"


def demo_dir(settings: GeoSettings | None = None) -> Path:
    folder = settings.demo_dir if settings else ""
    return Path(folder) if folder else DEMO_DIR


def load_demo(folder: Path = DEMO_DIR, cell_width: int = 2) -> dict[str, list[GeoObject]]:
    """Objects of every kind from the demo GeoJSON files (cell codes re-encoded for a 3-digit width)."""
    data = {kind: [from_feature(kind, f) for f in load_geojson(folder / f"{kind}.geojson")] for kind in KINDS}
    if cell_width != 2:
        data = {kind: [_rewidth(r, cell_width) for r in objects] for kind, objects in data.items()}
    return data


def _rewidth(obj: GeoObject, width: int) -> GeoObject:
    changes = {}
    for name in ("code", "cell_code"):
        value = getattr(obj, name, None)
        if name == "code" and not hasattr(obj, "community_code"):
            continue  # only cells have a cell code as their own code
        if value:
            changes[name] = rewidth_cell_code(value, width)
    return dataclasses.replace(obj, **changes) if changes else obj  # type: ignore[type-var]


def demo_base_data(folder: Path = DEMO_DIR) -> BaseData:
    """The demo data as an in-memory snapshot (for tests and benchmarks without a database)."""
    return BaseData(**{kind: tuple(objects) for kind, objects in load_demo(folder).items()})  # type: ignore[arg-type]


async def seed_demo(engine: AsyncEngine, settings: GeoSettings | None = None,
                    progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Replace all geo base data by the demo data, in one transaction."""
    settings = settings or GeoSettings()
    data = load_demo(demo_dir(settings), settings.cell_sequence_width)
    return await SqlGeoRepository(engine).import_objects(list(data.items()), replace=True, progress=progress)


@functools.cache
def demo_gazetteer() -> Gazetteer:
    """The demo data's Gazetteer, built once per process (tests, benchmarks)."""
    return Gazetteer(demo_base_data())
