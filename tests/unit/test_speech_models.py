"""Model verification messages and the speech settings section."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from transcribe.engines import build_engine, try_build_engine
from transcribe.models import WHISPER_BASE_FILES, verify_vosk_model, verify_whisper_base, whisper_status
from transcribe.ports import EngineUnavailable
from transcribe.settings import SpeechSettings


def test_missing_whisper_model_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="hotline models install whisper-base"):
        verify_whisper_base(tmp_path / "whisper-base")


def test_corrupt_whisper_model_is_detected_by_checksum(tmp_path: Path) -> None:
    for item in WHISPER_BASE_FILES:
        (tmp_path / item.target).write_bytes(b"not the model")
    with pytest.raises(EngineUnavailable, match="已损坏"):
        verify_whisper_base(tmp_path)
    assert whisper_status(tmp_path).state == "已损坏"


def test_vosk_model_folder_needs_kaldi_files(tmp_path: Path) -> None:
    (tmp_path / "am").mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes(b"x")
    with pytest.raises(EngineUnavailable, match=r"graph/HCLG\.fst") as info:
        verify_vosk_model(tmp_path)
    assert "vosk-model-cn-0.22" in str(info.value)


def test_engine_none_means_no_transcription_and_says_so() -> None:
    engine, reason = try_build_engine(SpeechSettings(engine="none"))
    assert engine is None and reason and "speech.engine: none" in reason


def test_missing_model_makes_build_fail_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="hotline models install whisper-base"):
        build_engine(SpeechSettings(models_dir=str(tmp_path)))


def test_settings_refuse_unknown_keys_and_bad_ranges() -> None:
    with pytest.raises(ValidationError):
        SpeechSettings(engine="whisper", modle="x")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        SpeechSettings(rtp_port_min=5000, rtp_port_max=4000)
    with pytest.raises(ValidationError):
        SpeechSettings(engine="google")  # type: ignore[arg-type]


def test_relative_paths_are_taken_from_the_project_root() -> None:
    settings = SpeechSettings()
    assert settings.whisper_dir().parts[-3:] == ("var", "models", "whisper-base")
    assert settings.resolve("/abs/model") == Path("/abs/model")
