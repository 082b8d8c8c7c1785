"""Fixtures for verify tests: a data root with images of every kind, and a helper that writes a mix."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image


def photo(size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A small RGB image with some structure (so JPEG has real scans to truncate)."""
    im = Image.new("RGB", size)
    im.putdata([((x * 7) % 256, (y * 5) % 256, ((x + y) * 3) % 256) for y in range(size[1]) for x in range(size[0])])
    return im


def encode(im: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width x height``: enough for PIL's decompression-bomb check at open."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW
    return encode(photo(), "JPEG", exif=exif.tobytes())


def image_files() -> dict[str, bytes]:
    """Relative path -> bytes, one file per image case (the expected code is in the folder name)."""
    jpeg = encode(photo(), "JPEG", quality=90)
    palette = photo().convert("P", palette=Image.Palette.ADAPTIVE)
    return {
        "ok/photo.jpg": jpeg,
        "ok/photo.png": encode(photo(), "PNG"),
        "ok/exif_rotated.jpg": exif_rotated_jpeg(),
        "undecodable/truncated.jpg": jpeg[: len(jpeg) * 2 // 3],
        "undecodable/garbage.jpg": b"this is not an image at all",
        "empty_file/zero.jpg": b"",
        "format_mismatch/gif.jpg": encode(photo(), "GIF"),
        "unusual_mode/cmyk.jpg": encode(photo().convert("CMYK"), "JPEG"),
        "unusual_mode/gray16.png": encode(Image.new("I;16", (64, 48), 40000), "PNG"),
        "unusual_mode/palette_alpha.png": encode(palette, "PNG", transparency=0),
        "tiny_image/one_pixel.png": encode(Image.new("RGB", (1, 1)), "PNG"),
        "bomb/huge.png": png_header_only(20_000, 20_000),
    }


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for rel, data in image_files().items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def record(rid: Any = 1, image: str | None = "ok/photo.jpg", n_rounds: int = 1) -> dict[str, Any]:
    turns = []
    for r in range(n_rounds):
        q = "<image>\nWhat is shown?" if image is not None and r == 0 else "And then?"
        turns += [{"from": "human", "value": q}, {"from": "gpt", "value": "A photo."}]
    rec: dict[str, Any] = {"id": rid, "conversations": turns}
    if image is not None:
        rec["image"] = image
    return rec


def write_mix(path: Path, records: list[Any]) -> Path:
    path.write_text(json.dumps(records, indent=1))
    return path
