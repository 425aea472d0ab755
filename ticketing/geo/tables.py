"""Geo tables: geometries as GeoJSON text plus bounding-box columns (no PostGIS; SQLite and PostgreSQL).

Department codes are plain strings (no foreign keys), so base data can be imported before departments.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Integer, String, Table, Text

from core.db.base import metadata


def _bbox() -> list[Column]:
    return [Column(name, Float, nullable=False) for name in ("min_lon", "min_lat", "max_lon", "max_lat")]


geo_streets = Table(
    "geo_streets", metadata,
    Column("code", String(9), primary_key=True),
    Column("name", String(50), nullable=False),
    Column("dept_code", String(32)),
    Column("geometry", Text, nullable=False),
    *_bbox(),
    Column("demo", Boolean, nullable=False, default=False),
)

geo_communities = Table(
    "geo_communities", metadata,
    Column("code", String(12), primary_key=True),
    Column("name", String(50), nullable=False),
    Column("street_code", String(9), nullable=False, index=True),
    Column("dept_code", String(32)),
    Column("geometry", Text, nullable=False),
    *_bbox(),
    Column("demo", Boolean, nullable=False, default=False),
)

geo_duty_grids = Table(
    "geo_duty_grids", metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(80), nullable=False),
    Column("inspector", String(64), index=True),
    Column("geometry", Text, nullable=False),
    *_bbox(),
    Column("demo", Boolean, nullable=False, default=False),
)

geo_cells = Table(
    "geo_cells", metadata,
    Column("code", String(15), primary_key=True),
    Column("community_code", String(12), nullable=False, index=True),
    Column("duty_grid", String(32), index=True),
    Column("area_m2", Float, nullable=False, default=0.0),
    Column("geometry", Text, nullable=False),
    *_bbox(),
    Column("demo", Boolean, nullable=False, default=False),
)

geo_roads = Table(
    "geo_roads", metadata,
    Column("name", String(50), primary_key=True),
    Column("kind", String(16), nullable=False, default="路"),
    Column("aliases", Text, nullable=False, default=""),  # comma-separated
    Column("geometry", Text, nullable=False),
    *_bbox(),
    Column("demo", Boolean, nullable=False, default=False),
)

geo_addresses = Table(
    "geo_addresses", metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("name", String(100), nullable=False, index=True),
    Column("road", String(50), index=True),
    Column("number", Integer),
    Column("aliases", Text, nullable=False, default=""),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("cell_code", String(15), index=True),
    Column("demo", Boolean, nullable=False, default=False),
)

geo_components = Table(
    "geo_components", metadata,
    Column("id", String(16), primary_key=True),
    Column("class_code", String(4), nullable=False, index=True),
    Column("state", String(8), nullable=False, default="完好"),
    Column("authority_dept", String(32)),
    Column("owner_dept", String(32)),
    Column("maintainer_dept", String(32)),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("cell_code", String(15), index=True),
    Column("address", String(200)),
    Column("note", Text),
    Column("demo", Boolean, nullable=False, default=False),
)

GEO_TABLES = (geo_streets, geo_communities, geo_duty_grids, geo_cells, geo_roads, geo_addresses, geo_components)
