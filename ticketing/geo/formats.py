"""Reading and writing base data files: GeoJSON and ESRI Shapefile (pyshp), converting the CRS at the edge."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import shapefile

Feature = dict[str, Any]


class FormatError(ValueError):
    """A file could not be read as the expected format."""

    code = "geo.bad_file"


def dump_geojson(features: Iterable[Mapping[str, Any]], path: Path, *, name: str | None = None,
                 meta: Mapping[str, Any] | None = None) -> int:
    """Write a FeatureCollection, one feature per line, byte-stable for the same input; return the count."""
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if name:
        head["name"] = name
    if meta:
        head.update(meta)
    prefix = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    body = prefix + ',"features":[\n' + ",\n".join(lines) + "\n]}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8", newline="\n")
    return len(lines)


def load_geojson(path: Path) -> list[Feature]:
    """Features of a GeoJSON FeatureCollection (or of a single Feature)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"无法读取GeoJSON文件{path}：{exc}") from exc
    if isinstance(data, Mapping) and data.get("type") == "Feature":
        return [dict(data)]
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise FormatError(f"{path}不是GeoJSON要素集(FeatureCollection)")
    features = data.get("features")
    if not isinstance(features, list):
        raise FormatError(f"{path}缺少features数组")
    return features


# DBF field names are at most 10 characters: long property names get short ones in Shapefiles.
SHORT_NAMES = {"community_code": "comm_code", "street_code": "street_cd", "authority_dept": "auth_dept",
               "maintainer_dept": "maint_dept", "coordinate_system": "crs"}
LONG_NAMES = {short: long for long, short in SHORT_NAMES.items()}
_SHAPE_TYPES = {"Polygon": shapefile.POLYGON, "MultiPolygon": shapefile.POLYGON, "LineString": shapefile.POLYLINE,
                "MultiLineString": shapefile.POLYLINE, "Point": shapefile.POINT}


def load_shapefile(path: Path) -> list[Feature]:
    """Features of a Shapefile (.shp with .shx and .dbf beside it; UTF-8 attributes)."""
    try:
        with shapefile.Reader(str(path), encoding="utf-8") as reader:
            names = [LONG_NAMES.get(f[0], f[0]) for f in reader.fields[1:]]
            return [_shape_feature(sr.shape, names, list(sr.record)) for sr in reader.iterShapeRecords()]
    except (shapefile.ShapefileException, OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"无法读取Shapefile文件{path}：{exc}") from exc


def _shape_feature(shape: Any, names: list[str], values: list[Any]) -> Feature:
    props = {n: (None if v == "" else v) for n, v in zip(names, values, strict=True)}
    if isinstance(props.get("aliases"), str):
        props["aliases"] = [a for a in props["aliases"].split(",") if a]
    if "demo" in props:
        props["demo"] = bool(props["demo"])
    geometry = shape.__geo_interface__ if shape.shapeType != shapefile.NULL else None
    return {"type": "Feature", "properties": props, "geometry": geometry}


def dump_shapefile(features: list[Mapping[str, Any]], path: Path, prj_wkt: str | None = None) -> int:
    """Write features of one geometry type as a Shapefile (+ .cpg UTF-8 and .prj); return the count."""
    if not features:
        raise FormatError("没有要素可写入Shapefile")
    kind = _SHAPE_TYPES[features[0]["geometry"]["type"]]
    names = list(dict.fromkeys(k for f in features for k in f["properties"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with shapefile.Writer(str(path), shapeType=kind, encoding="utf-8") as writer:
        for name in names:
            _field(writer, name, [f["properties"].get(name) for f in features])
        for f in features:
            _write_shape(writer, f["geometry"])
            writer.record(*[_cell(f["properties"].get(n)) for n in names])
    path.with_suffix(".cpg").write_text("UTF-8", encoding="ascii")
    if prj_wkt:
        path.with_suffix(".prj").write_text(prj_wkt, encoding="ascii")
    return len(features)


def _field(writer: Any, name: str, values: list[Any]) -> None:
    short = SHORT_NAMES.get(name, name)[:10]
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        writer.field(short, "L")
    elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        writer.field(short, "N", 18, 0)
    elif present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        writer.field(short, "N", 19, 6)
    else:
        width = max([len(str(_cell(v)).encode("utf-8")) for v in present] + [1])
        writer.field(short, "C", min(254, max(width, 10)))


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


def _write_shape(writer: Any, geometry: Mapping[str, Any]) -> None:
    kind, coords = geometry["type"], geometry["coordinates"]
    if kind == "Point":
        writer.point(*coords[:2])
    elif kind == "LineString":
        writer.line([coords])
    elif kind == "MultiLineString":
        writer.line(coords)
    elif kind == "Polygon":
        writer.poly(_clockwise_outer(coords))
    else:
        writer.poly([ring for polygon in coords for ring in _clockwise_outer(polygon)])


def _clockwise_outer(rings: list[list[list[float]]]) -> list[list[list[float]]]:
    # Shapefiles want outer rings clockwise and holes counter-clockwise, GeoJSON the opposite.
    return [list(reversed(ring)) for ring in rings]
