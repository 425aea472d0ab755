"""Reading the indicator catalog and the scoring profiles from their YAML files (config/data/evaluation)."""

from __future__ import annotations

from pathlib import Path

import yaml

from config.settings import CONFIG_DIR
from ticketing.evaluation.domain.catalog import Catalog, CatalogError, parse_catalog
from ticketing.evaluation.domain.scoring import ProfileBook, parse_profile

EVALUATION_DIR = CONFIG_DIR / "data" / "evaluation"


def load_catalog(path: Path = EVALUATION_DIR / "indicators.yaml") -> Catalog:
    return parse_catalog(_read(path))


def load_profiles(catalog: Catalog, folder: Path = EVALUATION_DIR / "profiles") -> ProfileBook:
    """Every *.yaml in the folder is one version of one profile."""
    return ProfileBook.of(parse_profile(_read(p), catalog) for p in sorted(folder.glob("*.yaml")))


def _read(path: Path) -> dict:  # type: ignore[type-arg]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"无法读取 {path}：{exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{path} 应为一个映射（YAML 对象）")
    return data
