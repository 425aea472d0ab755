"""The IVR core (everything under ivr/) does no I/O beyond reading its own YAML and reads no clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_acd_purity import problems, python_files


@pytest.mark.parametrize("path", python_files("ivr"), ids=lambda p: p.name)
def test_ivr_module_is_pure(path: Path) -> None:
    assert problems(path) == []
