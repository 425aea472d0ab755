"""Geo storage, import/export and locating on a real database: SQLite and PostgreSQL (own schema)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.engine import create_engine
from core.db.migrate import upgrade
from ticketing.geo.demo import DEMO_DIR, seed_demo
from ticketing.geo.importer import ImportFailed, export_file, import_file
from ticketing.geo.repository import SqlGeoRepository
from ticketing.geo.service import SqlGeoLocator

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DB = tuple[str, str | None]  # url, schema


async def _pg(sql: str) -> None:
    engine = create_engine(PG_URL)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(sql)
    finally:
        await engine.dispose()


async def _seed(url: str, schema: str | None) -> None:
    engine = create_engine(url, schema=schema)
    try:
        await seed_demo(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def seeded_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DB]:
    """A database migrated to 0002_geo with the demo data, one per backend for the whole module."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('geo')}/geo.db"
        upgrade(url, "0002_geo")
        asyncio.run(_seed(url, None))
        yield url, None
        return
    schema = "geo_" + uuid.uuid4().hex[:10]
    asyncio.run(_pg(f'CREATE SCHEMA "{schema}"'))
    try:
        upgrade(PG_URL, "0002_geo", schema=schema)
        asyncio.run(_seed(PG_URL, schema))
        yield PG_URL, schema
    finally:
        asyncio.run(_pg(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
async def engine(seeded_db: DB) -> AsyncIterator[AsyncEngine]:
    url, schema = seeded_db
    engine = create_engine(url, schema=schema)
    yield engine
    await engine.dispose()


def _count(kind: str) -> int:
    return len(json.loads((DEMO_DIR / f"{kind}.geojson").read_text(encoding="utf-8"))["features"])


async def test_demo_seed_stores_every_feature(engine: AsyncEngine) -> None:
    counts = await SqlGeoRepository(engine).counts()
    assert counts == {kind: _count(kind) for kind in counts}
    assert counts["cells"] > 1200


async def test_point_locates_cell_community_and_street_department(engine: AsyncEngine) -> None:
    locator = SqlGeoLocator(engine)
    location = await locator.locate(address=None, lat=30.5162, lon=120.9550)
    assert location is not None and location.confidence == 1.0
    assert location.place.cell_code is not None and location.place.cell_code.startswith("330424001")
    assert location.place.street_name == "武原街道" and location.place.street_dept_code == "wyjd"
    assert location.place.community_name is not None
    assert location.address  # reverse geocoded


async def test_caller_sentence_locates_the_door_plate(engine: AsyncEngine) -> None:
    locator = SqlGeoLocator(engine)
    location = await locator.locate(address="我要反映一下，海边东路一百二十号门口的路灯坏了", lat=None, lon=None)
    assert location is not None
    assert location.address == "海滨东路120号"
    assert location.place.street_dept_code == "wyjd" and location.confidence > 0.8
    typed = await locator.locate(address="海滨东路一百二十号3楼", lat=None, lon=None)
    assert typed is not None and typed.address == "海滨东路120号3楼"  # an address keeps its details


async def test_nothing_to_locate_gives_none(engine: AsyncEngine) -> None:
    locator = SqlGeoLocator(engine)
    assert await locator.locate(address="我家楼下的工地晚上还在施工", lat=None, lon=None) is None
    assert await locator.locate(address=None, lat=None, lon=None) is None


async def test_component_facts_name_owner_and_maintainer(engine: AsyncEngine) -> None:
    locator = SqlGeoLocator(engine)
    g = await locator.gazetteer()
    covers = [c for c in g.components.values() if c.class_code == "0105"]
    facts = await locator.component(covers[0].id)
    assert facts is not None and facts.class_code == "0105"
    assert facts.owner_dept_code == "gdgs" and facts.maintainer_dept_code == "gdgs"
    lamps = {(c.owner_dept, c.maintainer_dept) for c in g.components.values() if c.class_code == "0118"}
    assert lamps == {("szs", "szs"), ("gdgs", "gdgs")}
    assert await locator.component("3304240118999999") is None


async def test_failed_import_writes_nothing(engine: AsyncEngine, tmp_path: Path) -> None:
    features = json.loads((DEMO_DIR / "components.geojson").read_text(encoding="utf-8"))["features"][:20]
    for f in features:
        f["properties"]["note"] = "改过"
    features[7]["properties"]["id"] = "33042401180000"  # malformed: 14 digits
    path = tmp_path / "components.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    with pytest.raises(ImportFailed) as failed:
        await import_file(engine, "components", path)
    assert failed.value.problems[0].feature == 8
    notes = {c.note for c in await SqlGeoRepository(engine).objects("components")}
    assert "改过" not in notes


async def test_export_then_import_round_trips_in_gauss_kruger_shapefile(engine: AsyncEngine,
                                                                         tmp_path: Path) -> None:
    path = tmp_path / "communities.shp"
    assert await export_file(engine, "communities", path, crs="EPSG:4549") == 20
    assert "Gauss_Kruger" in path.with_suffix(".prj").read_text() or "GK" in path.with_suffix(".prj").read_text()
    before = {c.code: c for c in await SqlGeoRepository(engine).objects("communities")}
    assert await import_file(engine, "communities", path, crs="EPSG:4549") == 20
    after = {c.code: c for c in await SqlGeoRepository(engine).objects("communities")}
    assert after.keys() == before.keys()
    code = next(iter(before))
    a, b = before[code].geometry["coordinates"][0][0], after[code].geometry["coordinates"][0][0]
    assert abs(a[0] - b[0]) < 1e-6 and abs(a[1] - b[1]) < 1e-6
    assert after[code].name == before[code].name


async def test_refresh_sees_imported_components(engine: AsyncEngine, tmp_path: Path) -> None:
    locator = SqlGeoLocator(engine)
    await locator.gazetteer()
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.9551, 30.5163]},
               "properties": {"id": "3304240305900001", "class_code": "0305", "owner_dept": "hws"}}
    path = tmp_path / "components.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    await import_file(engine, "components", path)
    assert await locator.component("3304240305900001") is None  # old snapshot
    await locator.refresh()
    facts = await locator.component("3304240305900001")
    assert facts is not None and facts.owner_dept_code == "hws"
