"""Small inputs and recipes for the mix builder's tests, written by the tests."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from PIL import Image

from llavamix.mix import BuildReport, build_mix, load_recipe


def record(rid: Any, image: str | None, question: str, answer: str = "ok") -> dict[str, Any]:
    first = ("<image>\n" if image is not None else "") + question
    rec: dict[str, Any] = {
        "id": rid,
        "conversations": [{"from": "human", "value": first}, {"from": "gpt", "value": answer}],
    }
    if image is not None:
        rec["image"] = image
    return rec


def write_json(path: Path, records: list[Any], indent: int | None = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=indent, ensure_ascii=False), encoding="utf-8")
    return path


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def image_bytes(size: tuple[int, int], color: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


def put_image(root: Path, rel: str, data: bytes) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)


def recipe(folder: Path, text: str) -> Path:
    path = folder / "recipe.toml"
    path.write_text(text, encoding="utf-8")
    return path


def build(folder: Path, text: str, out: str = "out/new.json") -> tuple[BuildReport, list[Any]]:
    """Build the recipe ``text`` (written in ``folder``); the report and the output records."""
    report = build_mix(load_recipe(recipe(folder, text)), folder / out)
    return report, json.loads((folder / out).read_bytes())


def provenance(report: BuildReport) -> list[tuple[str, int]]:
    return [(d["input"], d["index"]) for d in map(json.loads, report.provenance.read_text().splitlines())]
