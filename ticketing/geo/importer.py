"""Importing and exporting base data files (GeoJSON, Shapefile) in any supported coordinate system.

An import reads the whole file, converts it to WGS-84, checks it (codes, duplicates, geometries, cell
overlaps and gaps) and writes it in one transaction: either every feature lands or none does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.geo import crs as crs_mod
from ticketing.geo.domain.features import KINDS, to_feature
from ticketing.geo.domain.validation import Checked, Problem, check
from ticketing.geo.formats import FormatError, dump_geojson, dump_shapefile, load_geojson, load_shapefile
from ticketing.geo.repository import SqlGeoRepository

Feature = dict[str, Any]


class ImportFailed(Exception):
    """Nothing was imported; `problems` says why, feature by feature."""

    code = "geo.import_failed"

    def __init__(self, problems: tuple[Problem, ...] | list[Problem]) -> None:
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        head = "；".join(str(p) for p in errors[:5])
        more = f"（另有{len(errors) - 5}个问题）" if len(errors) > 5 else ""
        super().__init__(f"导入失败，未写入任何数据：{head}{more}")


def guess_kind(path: Path) -> str:
    """The kind named by a file (cells.geojson → cells)."""
    stem = path.name.split(".")[0].lower()
    for kind in KINDS:
        if stem == kind or stem.startswith(kind) or stem.endswith(kind):
            return kind
    raise FormatError(f"无法从文件名“{path.name}”判断数据类型，请指定：{', '.join(KINDS)}")


def read_features(path: Path, crs: str = "wgs84") -> list[Feature]:
    """Features of a .geojson/.json or .shp file, converted to WGS-84."""
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        features = load_geojson(path)
    elif suffix == ".shp":
        features = load_shapefile(path)
    else:
        raise FormatError(f"不支持的文件类型“{suffix}”，请用GeoJSON或Shapefile")
    transform = crs_mod.to_wgs84(crs)
    return [_converted(f, transform) for f in features]


def _converted(feature: Feature, transform: crs_mod.Transform) -> Feature:
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or "coordinates" not in geometry:
        return feature
    try:
        return {**feature, "geometry": crs_mod.transform_geometry(geometry, transform)}
    except (TypeError, ValueError, IndexError):
        return feature  # left for the checks to report with the feature number


def validate_file(path: Path, kind: str | None = None, *, crs: str = "wgs84", cell_width: int = 2) -> Checked:
    """Check a file without writing anything."""
    return check(kind or guess_kind(path), read_features(path, crs), cell_width=cell_width)


async def import_file(engine: AsyncEngine, kind: str, path: Path, *, crs: str = "wgs84", cell_width: int = 2,
                      replace: bool = False, progress: Callable[[int], None] | None = None) -> int:
    """Check and import one file in one transaction; raise ImportFailed (nothing written) on any error."""
    checked = validate_file(path, kind, crs=crs, cell_width=cell_width)
    if not checked.ok:
        raise ImportFailed(checked.problems)
    try:
        written = await SqlGeoRepository(engine).import_objects([(kind, checked.objects)], replace=replace,
                                                                progress=progress)
    except IntegrityError as exc:
        raise ImportFailed([Problem(None, "geo.conflict", f"与数据库中已有数据冲突：{exc.orig}")]) from exc
    return written[kind]


async def export_file(engine: AsyncEngine, kind: str, path: Path, *, crs: str = "wgs84") -> int:
    """Write all objects of a kind to a .geojson or .shp file in the given coordinate system."""
    objects = await SqlGeoRepository(engine).objects(kind)
    transform = crs_mod.from_wgs84(crs)
    features = [_converted(to_feature(r), transform) for r in objects]
    if path.suffix.lower() == ".shp":
        return dump_shapefile(features, path, crs_mod.esri_wkt(crs))
    meta = {"coordinate_system": crs_mod.canonical(crs)}
    return dump_geojson(features, path, name=kind, meta=meta)
