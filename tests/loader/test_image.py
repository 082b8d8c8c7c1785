"""Image tensors equal the reference's (llava mm_utils + transformers' CLIPImageProcessor) bit for bit."""

from __future__ import annotations

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from llava import mm_utils  # noqa: E402
from PIL import Image  # noqa: E402

from llavamix.loader import PreprocessConfig  # noqa: E402
from llavamix.loader.image import ImageProcessor, load_rgb  # noqa: E402
from tests.loader.conftest import IMAGES, save_image  # noqa: E402

SIZES = [(1, 1), (3, 5), (336, 336), (640, 480), (1024, 768), (500, 1200), (2000, 300), (300, 1500), (1008, 336)]


def _image(size, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype="uint8"), "RGB")


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_anyres_equals_reference(size, clip):
    config = PreprocessConfig()
    image = _image(size)
    expected = mm_utils.process_anyres_image(image, clip, config.grid_pinpoints)
    got = ImageProcessor(config)(image)
    assert got.dtype == expected.dtype == torch.float32
    assert got.shape == expected.shape
    assert torch.equal(got, expected)


@pytest.mark.parametrize("path,size,mode", IMAGES, ids=[m + "-" + p.rsplit("/", 1)[1] for p, _, m in IMAGES])
def test_modes_from_files_equal_reference(tmp_path, path, size, mode, clip):
    file = tmp_path / path.rsplit("/", 1)[1]
    save_image(file, size, mode)
    config = PreprocessConfig()
    reference_rgb = Image.open(file).convert("RGB")
    expected = mm_utils.process_anyres_image(reference_rgb, clip, config.grid_pinpoints)
    assert torch.equal(ImageProcessor(config)(load_rgb(file)), expected)


@pytest.mark.parametrize("aspect", ["pad", "square"])
@pytest.mark.parametrize("size", [(3, 5), (640, 480), (500, 1200), (336, 336)], ids=str)
def test_pad_and_square_equal_reference(aspect, size, clip):
    config = PreprocessConfig(image_aspect_ratio=aspect)
    image = _image(size, seed=1)
    ref_input = image
    if aspect == "pad":
        ref_input = mm_utils.expand2square(image, tuple(int(x * 255) for x in clip.image_mean))
    expected = clip.preprocess(ref_input, return_tensors="pt")["pixel_values"][0]
    assert torch.equal(ImageProcessor(config)(image), expected)


def test_custom_pinpoints_not_multiple_of_tile(clip):
    # a grid that does not divide into 336 px tiles: the reference crops past the edge and PIL fills zeros
    config = dataclasses.replace(PreprocessConfig(), grid_pinpoints=[[500, 400], [336, 700]])
    image = _image((640, 480), seed=2)
    expected = mm_utils.process_anyres_image(image, clip, config.grid_pinpoints)
    assert torch.equal(ImageProcessor(config)(image), expected)


def test_tile_order_is_row_major():
    # a 2x1 grid image: left half black, right half white -> tile 1 (left) darker than tile 2 (right)
    image = Image.new("RGB", (672, 336))
    image.paste((255, 255, 255), (336, 0, 672, 336))
    out = ImageProcessor(PreprocessConfig())(image)
    assert out.shape == (3, 3, 336, 336)
    assert out[1].mean() < 0 < out[2].mean()
