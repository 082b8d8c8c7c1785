"""Fixtures for the loader tests: locally built tokenizers, a CLIP processor, and a small data root with a mix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sentencepiece")
pytest.importorskip("llava", reason="the reference: pip install --no-deps llava-torch==1.2.2.post1")

from tests.loader import tokenizers as toks

MAX_LENGTH = 4096


@pytest.fixture(scope="session")
def sp_model(tmp_path_factory) -> Path:
    return toks.train_sentencepiece(tmp_path_factory.mktemp("spm"))


@pytest.fixture(scope="session", params=[True, False], ids=["legacy", "nonlegacy"])
def llama_tok(request, sp_model):
    return toks.llama_tokenizer(sp_model, legacy=request.param, max_length=MAX_LENGTH)


@pytest.fixture(scope="session")
def legacy_tok(sp_model):
    return toks.llama_tokenizer(sp_model, legacy=True, max_length=MAX_LENGTH)


@pytest.fixture(scope="session")
def llama3_tok():
    return toks.llama3_tokenizer(MAX_LENGTH)


@pytest.fixture(scope="session")
def family_tok(sp_model, llama3_tok):
    """``family_tok(name)``: the tokenizer of one template family, built once per session (see tokenizers.py)."""
    builders = {
        "sp-legacy": lambda: toks.llama_tokenizer(sp_model, legacy=True, max_length=MAX_LENGTH),
        "sp": lambda: toks.llama_tokenizer(sp_model, legacy=False, max_length=MAX_LENGTH),
        "chatml-sp-legacy": lambda: toks.with_tokens(family_tok("sp-legacy"), toks.CHATML_SPECIALS),
        "chatml-sp": lambda: toks.with_tokens(family_tok("sp"), toks.CHATML_SPECIALS),
        "chatml-bpe": lambda: toks.chatml_tokenizer(MAX_LENGTH),
        "llama3": lambda: llama3_tok,
    }
    built: dict = {}

    def family_tok(name: str):
        if name not in built:
            built[name] = builders[name]()
        return built[name]

    return family_tok


@pytest.fixture(scope="session")
def clip():
    from tests.loader import reference

    return reference.clip_processor()


def save_image(path: Path, size: tuple[int, int], mode: str, seed: int = 0) -> None:
    """A noisy gradient image of ``size`` in ``mode``, saved in a format that keeps the mode."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    base = np.add.outer(np.arange(h) * 255 // max(h, 1), np.arange(w) * 255 // max(w, 1)) // 2
    rgb = np.clip(base[..., None] + rng.integers(-40, 40, (h, w, 3)), 0, 255).astype("uint8")
    img = Image.fromarray(rgb, "RGB")
    if mode == "RGBA":
        img = img.convert("RGBA")
        img.putalpha(Image.fromarray(rng.integers(0, 256, (h, w), dtype="uint8")))
    elif mode != "RGB":
        img = img.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


# (relative path, size, mode): tiny, wide, tall, large, every mode the mix holds; with the default pinpoints their
# anyres grids (tiles across x down) are 2x2 (a, b, cmyk, big), 1x3 (tall, p), 3x1 (wide), 1x2 (tiny, one), 2x1 (w2)
IMAGES = [
    ("coco/train2017/a.jpg", (640, 480), "RGB"),
    ("coco/train2017/b.png", (1024, 768), "RGB"),
    ("gqa/images/tall.png", (300, 1500), "RGB"),
    ("gqa/images/wide.png", (2000, 300), "L"),
    ("ocr_vqa/images/tiny.png", (3, 5), "RGBA"),
    ("ocr_vqa/images/p.png", (500, 1200), "P"),
    ("sam/images/cmyk.jpg", (700, 500), "CMYK"),
    ("vg/VG_100K/big.jpg", (2200, 1700), "RGB"),
    ("textvqa/train_images/one.png", (1, 1), "RGB"),
    ("web-landmark/images/w2.jpg", (800, 400), "RGB"),
]


def records() -> list[dict]:
    """Records covering the shapes the mix has: image first/last, multi-turn, leading gpt, text-only, int ids."""
    convs = [
        [("human", "<image>\nwhat is in this picture?"), ("gpt", "a cat on the table.")],
        [
            ("human", "describe the photo <image>"),
            ("gpt", "two people near a red car."),
            ("human", "color?"),
            ("gpt", "red"),
        ],
        [("human", "what sign\n<image>"), ("gpt", "yes")],
        [("gpt", "hello"), ("human", "<image>\nanswer the question"), ("gpt", "no, the sky is blue.")],
        [("human", "<image>"), ("gpt", "a long caption about a tree and a dog running.")],
        [("human", "<image>\nwhat is the chart about?"), ("gpt", "42 people é 中文")],
        [
            ("human", "<image>\nleft or right?"),
            ("gpt", "left"),
            ("human", "why?"),
            ("gpt", ""),
            ("human", "ok"),
            ("gpt", "sure"),
        ],
        [("human", "<image>\nshort answer"), ("gpt", "a man sitting under a tree")],
        [("human", "<image>  caption this"), ("gpt", "blue sky")],
        [("human", "what is on the left? <image>"), ("gpt", "a tree"), ("human", "and the right?"), ("gpt", "sky")],
    ]
    out = []
    for k, ((path, _, _), turns) in enumerate(zip(IMAGES, convs, strict=True)):
        conv = [{"from": f, "value": v} for f, v in turns]
        out.append({"id": k if k % 2 else f"rec-{k}", "image": path, "conversations": conv})
    out.append(
        {
            "id": "text-1",
            "conversations": [{"from": "human", "value": "what is a cat?"}, {"from": "gpt", "value": "an animal."}],
        }
    )
    out.append(
        {
            "id": 99,
            "conversations": [
                {"from": "human", "value": "two"},
                {"from": "gpt", "value": "three"},
                {"from": "human", "value": "and?"},
                {"from": "gpt", "value": "four"},
            ],
        }
    )
    return out


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    for k, (path, size, mode) in enumerate(IMAGES):
        save_image(root / path, size, mode, seed=k)
    (root / "mix.json").write_text(json.dumps(records(), ensure_ascii=False))
    return root


def write_index(mix: Path, out: Path) -> Path:
    """An index file holding ``mix``'s records, written with the index schema (independent of the index stage)."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    from llavamix.foundation.formats.index import index_schema
    from llavamix.foundation.records import MixFile, sample_lengths

    mf = MixFile(mix)
    rows = []
    for i in range(len(mf)):
        value, raw = mf.value(i), mf.raw(i)
        has = "image" in value
        length, modality = sample_lengths([t["value"] for t in value["conversations"]], has)
        rid = value.get("id")
        rows.append(
            (
                raw,
                rid if isinstance(rid, int) else None,
                rid if isinstance(rid, str) else None,
                has,
                value.get("image"),
                length,
                modality,
            )
        )
    schema = index_schema()
    columns = [pa.array([r[k] for r in rows], type=schema.field(k).type) for k in range(len(schema))]
    with pa.OSFile(str(out), "wb") as sink, ipc.new_file(sink, schema) as writer:
        writer.write_batch(pa.record_batch(columns, schema=schema))
    return out
