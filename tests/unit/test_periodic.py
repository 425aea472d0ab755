"""core.periodic: a step that fails is tried again next period; stopping ends the loop and nothing else."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.periodic import Periodic


async def test_a_failing_step_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    async def step() -> None:
        calls.append(len(calls))
        if len(calls) <= 2:
            raise RuntimeError("boom")

    loop = Periodic(0.01, step, "test step")
    with caplog.at_level(logging.ERROR, logger="core.periodic"):
        loop.start()
        for _ in range(200):
            if len(calls) >= 4:
                break
            await asyncio.sleep(0.01)
        await loop.stop()
    assert len(calls) >= 4
    failures = [r for r in caplog.records if "test step failed" in r.getMessage()]
    assert len(failures) == 2
    assert not loop.running


async def test_start_twice_runs_one_loop_and_stop_is_idempotent() -> None:
    running = 0
    peak = 0

    async def step() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await asyncio.sleep(0.005)
        finally:
            running -= 1

    loop = Periodic(0.001, step, "once")
    loop.start()
    loop.start()
    await asyncio.sleep(0.05)
    await loop.stop()
    await loop.stop()
    assert peak == 1
    assert running == 0
