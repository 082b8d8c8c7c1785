"""Anyres geometry equals the reference's own functions (llava.mm_utils of llava-torch): select_best_resolution,
resize_and_pad_image, divide_to_patches, get_anyres_image_grid_shape; nothing here restates their arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

pytest.importorskip("torch")
from llava import mm_utils
from PIL import Image

from llavamix.foundation.records.anyres import DEFAULT_PINPOINTS
from llavamix.loader.anyres import best_resolution, fitted_size, grid_shape, paste_offset, tile_counts

PINPOINTS = [list(p) for p in DEFAULT_PINPOINTS]
sizes = st.tuples(st.integers(1, 5000), st.integers(1, 5000))


@given(sizes)
def test_best_resolution_matches_reference(size):
    assert best_resolution(size, DEFAULT_PINPOINTS) == mm_utils.select_best_resolution(size, PINPOINTS)


# Grids users configure (image_grid_pinpoints), in orders where the first pinpoint is not the least wasteful
GRIDS = [
    tuple(reversed(DEFAULT_PINPOINTS)),
    ((672, 672), (336, 672), (672, 336)),
    ((1008, 1008), (336, 336), (672, 672), (336, 1008)),
]


@given(sizes, st.sampled_from(GRIDS))
@example((100, 100), GRIDS[1])  # every pinpoint keeps all pixels: only the least waste decides
@example((300, 200), GRIDS[2])
def test_best_resolution_matches_reference_on_other_grids(size, grid):
    assert best_resolution(size, grid) == tuple(mm_utils.select_best_resolution(size, [list(p) for p in grid]))


@settings(max_examples=60, deadline=None)
@given(st.tuples(st.integers(1, 3000), st.integers(1, 3000)))
def test_fitted_size_and_offset_match_reference(size):
    """Where resize_and_pad_image pastes a white image on its black canvas is the fitted size and the offset."""
    target = best_resolution(size, DEFAULT_PINPOINTS)
    canvas = mm_utils.resize_and_pad_image(Image.new("RGB", size, (255, 255, 255)), target)
    assert canvas.size == target
    left, top, right, bottom = canvas.getbbox()
    fitted = fitted_size(size, target)
    assert fitted == (right - left, bottom - top)
    assert paste_offset(fitted, target) == (left, top)


@given(sizes)
def test_grid_shape_matches_reference(size):
    assert grid_shape(size, DEFAULT_PINPOINTS, 336) == mm_utils.get_anyres_image_grid_shape(size, PINPOINTS, 336)


def _patches(size):
    return len(mm_utils.divide_to_patches(Image.new("RGB", size), 336))


@given(st.tuples(st.integers(1, 1500), st.integers(1, 1500)))
@example((672, 336))  # every pinpoint: whole tiles
@example((336, 672))
@example((672, 672))
@example((1008, 336))
@example((336, 1008))
def test_tile_counts_match_reference_patches(target):
    """divide_to_patches' own counts: a one-pixel-high strip gives the tiles across, a one-pixel-wide one down."""
    across, down = _patches((target[0], 1)), _patches((1, target[1]))
    assert tile_counts(target, 336) == (across, down)
    assert _patches(target) == across * down
