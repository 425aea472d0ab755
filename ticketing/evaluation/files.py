"""Reading the indicator catalog and the scoring profiles from their YAML files (ticketing/evaluation/data).

The shipped files live beside the code (no import of the config package: ticketing sits below it); a site
passes its own folder to `load_profiles` to add profiles or versions."""

from __future__ import annotations

from pathlib import Path

import yaml

from ticketing.evaluation.domain.catalog import Catalog, CatalogError, parse_catalog
from ticketing.evaluation.domain.scoring import ProfileBook, parse_profile

EVALUATION_DIR = Path(__file__).resolve().parent / "data"


def load_catalog(path: Path = EVALUATION_DIR / "indicators.yaml") -> Catalog:
    return parse_catalog(_read(path))


def load_profiles(catalog: Catalog, *folders: Path) -> ProfileBook:
    """Every *.yaml in the shipped folder and in `folders` is one version of one profile."""
    paths = [p for f in (EVALUATION_DIR / "profiles", *folders) for p in sorted(f.glob("*.yaml"))]
    return ProfileBook.of(parse_profile(_read(p), catalog) for p in paths)


def _read(path: Path) -> dict:  # type: ignore[type-arg]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"无法读取 {path}：{exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{path} 应为一个映射（YAML 对象）")
    return data
