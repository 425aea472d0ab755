"""The `speech` section of the settings: which engine transcribes, where its model is, how much CPU it may use.

Relative paths are taken relative to the project root (see `resolve`). Defaults work on one machine on loopback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SpeechSettings(BaseModel):
    """Speech recognition settings (section `speech`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: Literal["whisper", "vosk", "none"] = "whisper"
    models_dir: str = "var/models"
    whisper_model: str = "whisper-base"  # a folder name under models_dir, or an absolute path
    whisper_compute_type: str = "int8"
    whisper_beam_size: int = Field(5, ge=1, le=10)
    whisper_cpu_threads: int = Field(2, ge=1, le=64)  # per model instance
    # Live utterances: "fitted" encodes a window fitted to the utterance (3-4x less CPU), "full" Whisper's 30 s
    whisper_live_window: Literal["fitted", "full"] = "fitted"
    whisper_live_beam_size: int = Field(1, ge=1, le=10)  # live utterances: 1 is greedy, a third faster than 5
    vosk_model_path: str = "var/models/vosk-model-cn-0.22"
    language: str = "zh"
    initial_prompt: str = "以下是普通话的句子。"
    vad: bool = True
    workers: int = Field(2, ge=1, le=64)  # recognitions running at the same time (CPU bound)
    max_streams: int = Field(16, ge=1, le=1000)  # live streams accepted at the same time
    endpoint_silence_ms: int = Field(500, ge=100, le=5000)  # live streams: silence that ends an utterance
    speech_rms: float = Field(300.0, ge=1.0, le=30000.0)  # live streams: frames at least this loud are speech
    max_upload_mb: int = Field(20, ge=1, le=200)
    rtp_host: str = "127.0.0.1"
    rtp_port_min: int = Field(40000, ge=1024, le=65535)
    rtp_port_max: int = Field(40999, ge=1024, le=65535)
    rtp_reorder_packets: int = Field(4, ge=0, le=50)  # jitter window: packets held back to restore order
    categories_file: str = "config/data/categories.yaml"
    synonyms_file: str = ""  # empty: transcribe/data/synonyms.yaml
    roads_file: str = "config/data/haiyan/roads.geojson"

    @model_validator(mode="after")
    def _port_range(self) -> SpeechSettings:
        if self.rtp_port_min > self.rtp_port_max:
            raise ValueError("rtp_port_min must not exceed rtp_port_max")
        return self

    def resolve(self, value: str) -> Path:
        """A configured path; relative paths are relative to the project root."""
        path = Path(value)
        return path if path.is_absolute() else PROJECT_ROOT / path

    def whisper_dir(self) -> Path:
        path = Path(self.whisper_model)
        return path if path.is_absolute() else self.resolve(self.models_dir) / path
