"""Anyres geometry equals the reference's (select_best_resolution / resize_and_pad_image / divide_to_patches)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("torch")
from llava import mm_utils

from llavamix.loader.anyres import best_resolution, fitted_size, grid_shape, paste_offset, tile_counts
from llavamix.loader.config import DEFAULT_GRID_PINPOINTS

PINPOINTS = [list(p) for p in DEFAULT_GRID_PINPOINTS]
sizes = st.tuples(st.integers(1, 5000), st.integers(1, 5000))


@given(sizes)
def test_best_resolution_matches_reference(size):
    assert best_resolution(size, DEFAULT_GRID_PINPOINTS) == mm_utils.select_best_resolution(size, PINPOINTS)


@given(sizes)
def test_fitted_size_and_offset_match_reference(size):
    target = best_resolution(size, DEFAULT_GRID_PINPOINTS)
    w, h = fitted_size(size, target)
    # the reference's resize_and_pad_image arithmetic, restated
    sw, sh = target[0] / size[0], target[1] / size[1]
    expected = (
        (target[0], min(math.ceil(size[1] * sw), target[1]))
        if sw < sh
        else (
            min(math.ceil(size[0] * sh), target[0]),
            target[1],
        )
    )
    assert (w, h) == expected
    x, y = paste_offset((w, h), target)
    assert x >= 0 and y >= 0 and x + w <= target[0] and y + h <= target[1]


@given(sizes)
def test_grid_shape_matches_reference(size):
    assert grid_shape(size, DEFAULT_GRID_PINPOINTS, 336) == mm_utils.get_anyres_image_grid_shape(size, PINPOINTS, 336)


def test_tile_counts_cover_the_canvas():
    assert tile_counts((672, 336), 336) == (2, 1)
    assert tile_counts((500, 400), 336) == (2, 2)
