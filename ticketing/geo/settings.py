"""The `geo` settings section (imported by the root `config.settings.Settings`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class GeoSettings(BaseModel):
    """Grid code width, fuzzy-matching threshold and where the demo data lives."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    county_code: str = Field("330424", pattern=r"^\d{6}$")
    county_name: str = "海盐县"
    # CJ/T 213 uses a 2-digit cell sequence (14-digit codes), GB/T 30428.1 a 3-digit one (15 digits).
    cell_sequence_width: Literal[2, 3] = 2
    # Minimum pinyin similarity (0..1) for a misheard road or place name to count as a match.
    fuzzy_threshold: float = Field(0.8, gt=0.5, le=1.0)
    # Folder of the committed demo GeoJSON files; empty means config/data/haiyan of the project.
    demo_dir: str = ""
