"""Geo benchmark on the Haiyan demo data: point → cell lookups per second (index versus a brute-force scan
over all cells in the same run) and forward-geocoding latency (p50/p99) over the committed address cases.

Run: `python -m bench.geo` (single process, no database: the same in-memory indexes the service uses).
"""

from __future__ import annotations

import csv
import random
import statistics
import time
from pathlib import Path

from ticketing.geo.demo import demo_gazetteer
from ticketing.geo.domain.gazetteer import Gazetteer
from ticketing.geo.domain.geocoder import forward

CASES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "geocode_cases.tsv"


def _points(g: Gazetteer, n: int, seed: int = 1) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = g.bbox() or (0.0, 0.0, 1.0, 1.0)
    rng = random.Random(seed)
    return [(rng.uniform(x0, x1), rng.uniform(y0, y1)) for _ in range(n)]


def lookups_per_second(g: Gazetteer, n: int = 200_000) -> tuple[float, float]:
    """(index, brute force) point → cell lookups per second; brute force gets fewer points (it is slow)."""
    points = _points(g, n)
    locate = g.cell_index.locate
    start = time.perf_counter()
    for lon, lat in points:
        locate(lon, lat)
    indexed = n / (time.perf_counter() - start)
    few = points[: max(1, n // 100)]
    brute = g.cell_index.brute_force
    start = time.perf_counter()
    for lon, lat in few:
        brute(lon, lat)
    scanned = len(few) / (time.perf_counter() - start)
    return indexed, scanned


def geocode_latency_ms(g: Gazetteer, rounds: int = 20) -> tuple[float, float, int]:
    """(p50, p99) milliseconds of forward geocoding over the test addresses, and the sample count."""
    lines = [ln for ln in CASES.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    queries = [row["query"] for row in csv.DictReader(lines, delimiter="\t")]
    for q in queries:  # warm the pinyin cache as a running service would be
        forward(g, q)
    samples = []
    for _ in range(rounds):
        for q in queries:
            start = time.perf_counter()
            forward(g, q)
            samples.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98], len(samples)


def main() -> None:
    start = time.perf_counter()
    g = demo_gazetteer()
    built = time.perf_counter() - start
    print(f"demo data: {len(g.cells)} cells, {len(g.data.addresses)} addresses, {len(g.components)} components; "
          f"loaded and indexed in {built:.2f} s")
    indexed, scanned = lookups_per_second(g)
    print(f"point → cell: index {indexed:,.0f}/s, brute force {scanned:,.0f}/s, ratio {indexed / scanned:,.0f}×")
    p50, p99, count = geocode_latency_ms(g)
    print(f"forward geocode: p50 {p50:.3f} ms, p99 {p99:.3f} ms over {count} calls")


if __name__ == "__main__":
    main()
