"""Fixtures shared across test folders: a mix with varied records (written by the tests) and its images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fs import SmallDisk, tiny_disks
from tests.mixdata import write_images, write_mix
from tests.s3server import s3  # noqa: F401 (a fixture: a bucket on a loopback S3 server)


@pytest.fixture
def mix(tmp_path: Path) -> Path:
    return write_mix(tmp_path / "mix.json")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_images(tmp_path / "data")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """Real tiny tmpfs filesystems (see ``tests.fs.tiny_disks``); skips where mounting is not permitted."""
    with tiny_disks(tmp_path) as mount:
        yield mount
