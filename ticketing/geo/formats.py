"""Reading and writing base data files: GeoJSON and ESRI Shapefile (pyshp), converting the CRS at the edge."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

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
