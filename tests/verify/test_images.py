"""Image checks on real files of every kind, built by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from llavamix.foundation.records.imagefile import locate_image
from llavamix.verify.images import Limits, inspect_many
from tests.verify.conftest import image_files, png_header_only


def check(path: Path, limits: Limits | None = None) -> str | None:
    found = locate_image(path.parent, path.name)
    return found.code if found.code else inspect_many([str(path)], limits or Limits())[0].code


@pytest.mark.parametrize("rel", sorted(image_files()))
def test_each_image_gets_the_code_of_its_folder(data_root: Path, rel: str) -> None:
    expected = rel.split("/")[0]
    assert check(data_root / rel) == (None if expected == "ok" else expected)


def test_missing_file_and_folder_are_missing(data_root: Path) -> None:
    assert check(data_root / "nope.jpg") == "missing"
    assert check(data_root / "ok") == "missing"


def test_truncation_is_caught_at_every_cut_despite_the_reduced_jpeg_decode(data_root: Path, tmp_path: Path) -> None:
    whole = (data_root / "ok/photo.jpg").read_bytes()
    for cut in range(200, len(whole) - 1, max(1, len(whole) // 25)):
        (tmp_path / "cut.jpg").write_bytes(whole[:cut])
        assert check(tmp_path / "cut.jpg") == "undecodable", cut


def test_bomb_between_one_and_two_limits_is_flagged_not_just_warned(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(png_header_only(10_000, 10_000))  # 1.1x PIL's limit: PIL only warns
    assert check(tmp_path / "big.png") == "bomb"


def test_tiny_threshold_is_an_option(data_root: Path) -> None:
    assert check(data_root / "ok/photo.png", Limits(tiny=100)) == "tiny_image"
    assert check(data_root / "tiny_image/one_pixel.png", Limits(tiny=1)) is None
