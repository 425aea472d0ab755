"""Links to other platforms: settings plus a validated profile, loaded once."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from ticketing.exchange.domain.profile import Profile
from ticketing.exchange.settings import ExchangeSettings, LinkSettings

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"


@dataclass(frozen=True)
class Link:
    name: str
    cfg: LinkSettings
    profile: Profile


@functools.cache
def load_profile(name: str) -> Profile:
    """A shipped profile by name (`generic-12345`) or a site's YAML file by path; validated."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else PROFILE_DIR / f"{name}.yaml"
    return Profile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def build_links(settings: ExchangeSettings) -> dict[str, Link]:
    return {name: Link(name, cfg, load_profile(cfg.profile)) for name, cfg in settings.links.items() if cfg.enabled}
