"""Loader benchmark: samples/s of image + text preprocessing, llavamix vs the reference, on one core.

The reference is LLaVA's own code path (llava-torch 1.2.2 ``process_anyres_image`` with a CLIP-L/336
``CLIPImageProcessor``, ``preprocess_multimodal`` + ``preprocess_v1``), run as Open-LLaVA-NeXT's dataset does.
Both read the same JPEG photos (matplotlib's grace_hopper.jpg resized to common sizes) and multi-turn Vicuna-v1
conversations, with the same slow LlamaTokenizer (a sentencepiece model trained locally). Every sample's tensors
are asserted identical. Two figures: whole items (JPEG decode + preprocessing, what a worker does) and
preprocessing of already decoded images. Goal: >= 3x.

    .venv/bin/python benchmarks/bench_loader.py            # 200 samples
    .venv/bin/python benchmarks/bench_loader.py --small    # 40 samples
Needs: torch, transformers, sentencepiece, matplotlib, and ``pip install --no-deps llava-torch==1.2.2.post1``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the locally built tokenizer and the reference glue live with the loader tests

SIZES = [(640, 480), (1024, 768), (500, 1200), (800, 600), (1280, 720), (480, 640)]


def make_data(root: Path, n: int) -> list[dict]:
    import matplotlib
    from PIL import Image
    from tests.loader.tokenizers import WORDS

    photo = Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB")
    (root / "images").mkdir()
    rng = random.Random(0)
    records = []
    for i in range(n):
        size = SIZES[i % len(SIZES)]
        photo.resize(size, Image.Resampling.LANCZOS).save(root / "images" / f"{i}.jpg", quality=90)
        turns = []
        for r in range(rng.randint(1, 3)):
            q = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 20))) + "?"
            a = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 60))) + "."
            turns += [{"from": "human", "value": ("<image>\n" if r == 0 else "") + q}, {"from": "gpt", "value": a}]
        records.append({"id": i, "image": f"images/{i}.jpg", "conversations": turns})
    (root / "mix.json").write_text(json.dumps(records))
    return records


def race(ref, ours, items, check) -> tuple[float, float]:
    """CPU seconds of ``ref`` and ``ours`` over ``items``, alternating item by item so that both see the same
    machine load (CPU rather than wall time: other processes may share the cores). ``check`` asserts each pair of
    outputs equal; outputs are dropped at once so memory stays flat."""
    t_ref = t_ours = 0.0
    for item in items:
        t0 = time.process_time()
        expected = ref(item)
        t1 = time.process_time()
        got = ours(item)
        t_ref, t_ours = t_ref + t1 - t0, t_ours + time.process_time() - t1
        check(expected, got)
    return t_ref, t_ours


def same_item(a, b) -> None:
    import torch

    for key in ("input_ids", "labels", "image"):
        assert torch.equal(a[key], b[key]), key
    assert tuple(a["image_size"]) == tuple(b["image_size"])


def same_tensor(a, b) -> None:
    import torch

    assert torch.equal(a, b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--small", action="store_true", help="40 samples")
    args = parser.parse_args()
    n = 40 if args.small else args.samples

    import torch
    from tests.loader import reference
    from tests.loader.tokenizers import llama_tokenizer, train_sentencepiece

    from llavamix.foundation.records import MixFile
    from llavamix.loader import LlavaNextDataset, PreprocessConfig
    from llavamix.loader.image import load_rgb

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        records = make_data(root, n)
        tokenizer = llama_tokenizer(train_sentencepiece(root), legacy=False, max_length=4096)
        config = PreprocessConfig(model_max_length=4096)
        clip = reference.clip_processor()
        ds = LlavaNextDataset(root / "mix.json", root, tokenizer, config)
        mix = MixFile(root / "mix.json")

        def ref_item(i):
            return reference.getitem(mix.value(i), root, tokenizer, clip, "v1", "anyres", config.grid_pinpoints)

        for i in range(min(3, n)):  # warm-up: imports, caches
            ref_item(i), ds[i]
        t_ref, t_ours = race(ref_item, ds.__getitem__, range(n), same_item)

        # preprocessing only: images decoded beforehand, for both sides
        from llava import mm_utils

        images = [load_rgb(root / r["image"]) for r in records]
        t_ref_img, t_our_img = race(
            lambda im: mm_utils.process_anyres_image(im, clip, config.grid_pinpoints),
            ds.build.images,
            images,
            same_tensor,
        )

    print(f"{n} samples (photos {', '.join(f'{w}x{h}' for w, h in SIZES)}; 1-3 round v1 chats), one thread, CPU time")
    rows = [
        ("whole items (decode + image + text)", t_ref, t_ours),
        ("anyres image preprocessing only", t_ref_img, t_our_img),
    ]
    print(f"{'':38s} {'reference':>12s} {'llavamix':>12s} {'ratio':>7s}")
    for label, ref_t, our_t in rows:
        print(f"{label:38s} {n / ref_t:9.1f}/s {n / our_t:9.1f}/s {ref_t / our_t:6.2f}x")
    print("outputs identical: yes (input_ids, labels, image tensors, image_size)")


if __name__ == "__main__":
    main()
