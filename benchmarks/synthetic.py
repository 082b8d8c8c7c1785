"""A synthetic Open-LLaVA-NeXT-like mix for benchmarks: one JSON array with realistic prefixes and lengths,
and optionally a tree of small real-photo images that its records reference.

    from synthetic import make_mix
    make_mix(Path("mix.json"), 1_000_000, image_root=Path("data"), n_images=100_000)

    python benchmarks/synthetic.py OUT.json --records N [--images DIR --n-images M] [--seed S]

The ~1M-record default writes ~1.6 GB in well under a minute: texts are slices of one pre-built word string,
records are encoded in chunks with msgspec, and images are a handful of distinct encoded files hard-linked under
many names (records share images the way the real mix does).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

# (prefix, share of records, style, extension); shares follow the LLaVA-665K table plus the mix1M additions
# (reference §2.5): coco dominant, ALLaVA-VFLAN ~190K, the VQA collection ~200K, ~4% text-only.
SOURCES: list[tuple[str, float, str, str]] = [
    ("coco/train2017", 0.355, "chat", "jpg"),
    ("vg/VG_100K", 0.050, "vqa", "jpg"),
    ("vg/VG_100K_2", 0.035, "vqa", "jpg"),
    ("gqa/images", 0.070, "vqa", "jpg"),
    ("ocr_vqa/images", 0.078, "vqa", "jpg"),
    ("textvqa/train_images", 0.021, "caption", "jpg"),
    ("llava/llava_pretrain/images", 0.003, "caption", "jpg"),
    ("sam/images", 0.009, "caption", "jpg"),
    ("web-celebrity/images", 0.0005, "caption", "jpg"),
    ("web-landmark/images", 0.0005, "caption", "jpg"),
    ("wikiart/images", 0.0005, "caption", "jpg"),
    ("share_textvqa/images", 0.0005, "caption", "jpg"),
    ("allava_vflan/images/images_191task_1k", 0.186, "long", "jpg"),
    ("synthdog-en/images", 0.039, "caption", "jpg"),
    ("dvqa/images", 0.020, "vqa", "png"),
    ("chartqa/train/png", 0.018, "vqa", "png"),
    ("docvqa/train/documents", 0.010, "vqa", "png"),
    ("ai2d/images", 0.003, "vqa", "png"),
    ("geoqa+/images", 0.005, "vqa", "png"),
    ("", 0.040, "text", ""),  # text-only ShareGPT rows: no image key
]

# (min words, max words) of a human / gpt turn, and max rounds, per style
STYLES = {
    "chat": ((6, 20), (30, 160), 6),
    "vqa": ((6, 16), (1, 4), 6),
    "caption": ((5, 14), (40, 200), 1),
    "long": ((20, 60), (80, 260), 1),
    "text": ((10, 80), (60, 320), 6),
}
VQA_SUFFIX = "\nAnswer the question using a single word or phrase."
CHUNK = 20_000


@dataclass(frozen=True)
class _Text:
    """One long string of pseudo-words; any n-word text is a slice of it (fast, no per-word Python work)."""

    text: str
    starts: list[int]

    @classmethod
    def build(cls, rng: random.Random, n_words: int = 200_000) -> _Text:
        syll = ["ka", "lo", "mi", "ne", "ra", "to", "su", "vi", "de", "an", "or", "el", "is", "ur", "qu", "th"]
        vocab = ["".join(rng.choices(syll, k=rng.randint(1, 4))) for _ in range(4000)] + ["the", "a", "of", "is"] * 300
        words = rng.choices(vocab, k=n_words)
        starts, pos = [], 0
        for w in words:
            starts.append(pos)
            pos += len(w) + 1
        starts.append(pos)
        return cls(" ".join(words) + " ", starts)

    def words(self, rng: random.Random, n: int) -> str:
        i = rng.randrange(len(self.starts) - n - 1)
        return self.text[self.starts[i] : self.starts[i + n] - 1]


def _image_name(prefix: str, k: int, ext: str) -> str:
    if prefix.startswith("coco"):
        return f"{prefix}/{k:012d}.{ext}"
    if prefix.startswith("gqa"):
        return f"{prefix}/{2300000 + k}.{ext}"
    if prefix.startswith("ocr_vqa"):
        return f"{prefix}/{(k * 7919) % 10**9:09d}{'0123456789X'[k % 11]}.{ext}"
    if prefix.startswith("textvqa"):
        return f"{prefix}/{(k * 0x9E3779B97F4A7C15) % 2**64:016x}.{ext}"
    if prefix.startswith("llava/"):
        return f"{prefix}/{k // 1000:05d}/{k:09d}.{ext}"
    if prefix.startswith("sam"):
        return f"{prefix}/sa_{k}.{ext}"
    if prefix.startswith("allava"):
        return f"{prefix}/VQA-E+visual_question_answering_{k}_COCO_train2014_{k:012d}.{ext}"
    return f"{prefix}/{k}.{ext}"


def image_pool(n_images: int) -> dict[str, list[str]]:
    """The relative image paths per prefix: each image prefix gets images in proportion to its record share."""
    shares = [(p, s, e) for p, s, _, e in SOURCES if p]
    total = sum(s for _, s, _ in shares)
    return {p: [_image_name(p, k, e) for k in range(max(1, round(n_images * s / total)))] for p, s, e in shares}


def _conversations(rng: random.Random, text: _Text, style: str, image: bool) -> list[dict[str, str]]:
    (hlo, hhi), (glo, ghi), max_rounds = STYLES[style]
    turns = []
    for r in range(rng.randint(1, max_rounds)):
        question = text.words(rng, rng.randint(hlo, hhi)) + "?"
        if style == "vqa":
            question += VQA_SUFFIX
        if r == 0 and image:
            question = "<image>\n" + question
        turns.append({"from": "human", "value": question})
        turns.append({"from": "gpt", "value": text.words(rng, rng.randint(glo, ghi)) + "."})
    return turns


def _record(rng: random.Random, text: _Text, pool: dict[str, list[str]], i: int) -> dict:
    prefix, _, style, _ = SOURCES[_pick(rng)]
    if not prefix:
        return {"id": f"sg{i:07x}_0", "model": "", "conversations": _conversations(rng, text, style, False)}
    images = pool[prefix]
    rid: int | str = 2_000_000 + i if prefix.startswith("gqa") else f"{prefix.split('/')[0]}_{i}"
    image = images[rng.randrange(len(images))]
    return {"id": rid, "image": image, "conversations": _conversations(rng, text, style, True)}


_CUM: list[float] = []


def _pick(rng: random.Random) -> int:
    if not _CUM:
        acc = 0.0
        for _, share, _, _ in SOURCES:
            acc += share
            _CUM.append(acc)
    x = rng.random() * _CUM[-1]
    for j, c in enumerate(_CUM):
        if x < c:
            return j
    return len(_CUM) - 1


def _write_records(path: Path, n_records: int, pool: dict[str, list[str]], seed: int) -> None:
    rng = random.Random(seed)
    text = _Text.build(rng)
    enc = msgspec.json.Encoder()
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as fh:
        fh.write(b"[")
        for lo in range(0, n_records, CHUNK):
            chunk = [_record(rng, text, pool, i) for i in range(lo, min(n_records, lo + CHUNK))]
            body = enc.encode(chunk)[1:-1].replace(b'},{"id"', b'},\n{"id"')
            fh.write((b",\n" if lo else b"") + body)
        fh.write(b"]\n")
    tmp.replace(path)


def _templates() -> list[tuple[str, bytes]]:
    """A handful of distinct encoded photos (ext, bytes): crops and resizes of matplotlib's sample photo."""
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        photo = Image.open(fh).convert("RGB")
    out = []
    for i, (w, h) in enumerate([(640, 480), (500, 375), (480, 640), (640, 427), (800, 600), (612, 612)]):
        crop = photo.crop((i * 7, i * 11, photo.width - i * 5, photo.height - i * 9)).resize((w, h))
        for ext, fmt, kw in (("jpg", "JPEG", {"quality": 90}), ("png", "PNG", {})):
            if fmt == "PNG":
                crop = crop.resize((w // 2, h // 2))
            buf = io.BytesIO()
            crop.save(buf, fmt, **kw)
            out.append((ext, buf.getvalue()))
    return out


def _write_images(root: Path, pool: dict[str, list[str]]) -> None:
    by_ext: dict[str, list[Path]] = {}
    for ext, data in _templates():
        first = root / ".synthetic" / f"t{len(by_ext.get(ext, []))}.{ext}"
        first.parent.mkdir(parents=True, exist_ok=True)
        first.write_bytes(data)
        by_ext.setdefault(ext, []).append(first)
    made: set[Path] = set()
    for rels in pool.values():
        for k, rel in enumerate(rels):
            dest = root / rel
            if dest.parent not in made:
                dest.parent.mkdir(parents=True, exist_ok=True)
                made.add(dest.parent)
            srcs = by_ext[rel.rsplit(".", 1)[1]]
            _link(srcs[k % len(srcs)], dest)


def _link(src: Path, dest: Path) -> None:
    if dest.exists():
        return
    try:
        os.link(src, dest)
    except OSError:  # another filesystem, or no hard links there
        dest.write_bytes(src.read_bytes())


def make_mix(
    path: Path, n_records: int = 1_000_000, *, image_root: Path | None = None, n_images: int = 100_000, seed: int = 0
) -> Path:
    """Write a synthetic mix JSON at ``path`` (and its images under ``image_root`` when given); returns ``path``.

    The image paths records use depend only on ``n_images``, so a mix made without ``image_root`` references the
    same files as one made with it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pool = image_pool(n_images)
    _write_records(path, n_records, pool, seed)
    if image_root is not None:
        _write_images(Path(image_root), pool)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--images", type=Path, default=None, help="write the referenced image tree under this root")
    ap.add_argument("--n-images", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    make_mix(args.out, args.records, image_root=args.images, n_images=args.n_images, seed=args.seed)
    size = args.out.stat().st_size
    print(
        f"{args.out}: {args.records} records, {size / 1e6:.0f} MB ({size / max(1, args.records):.0f} B/record)"
        f" in {time.perf_counter() - t0:.1f}s"
    )


if __name__ == "__main__":
    main()
