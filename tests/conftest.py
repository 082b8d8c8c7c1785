"""Fixtures shared across test folders: a mix with varied records (written by the tests) and its images."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mixdata import write_images, write_mix


@pytest.fixture
def mix(tmp_path: Path) -> Path:
    return write_mix(tmp_path / "mix.json")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_images(tmp_path / "data")
