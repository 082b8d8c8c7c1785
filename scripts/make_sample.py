"""Generate the embedded sample mirror: tiny archives laid out like every real download, a small mix JSON, and
``sample.toml`` with their sizes and checksums.

Deterministic: with the same image encoders the output is byte-identical on every run (fixed seeds, zip timestamps,
member order and encoder settings; nothing depends on the clock or hash order).

    python scripts/make_sample.py [--out DIR]     # DIR defaults to src/llavamix/catalog

Needs llavamix importable (``pip install -e .``): the sources and their recipes come from ``sources.toml``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import shutil
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from PIL import Image, ImageDraw, features

from llavamix.catalog.schema import Source, load_catalog

REPO = Path(__file__).resolve().parents[1]
CATALOG_DIR = REPO / "src" / "llavamix" / "catalog"
SAMPLE = "sample"  # folder next to sample.toml; one subfolder per source
SEED = 20240427  # the mix JSON's collection date, as good a seed as any
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no trace of the wall clock
MIX_RECORDS = 270
# The miniatures of the other instruction mixes on the same tree: the image folders each real JSON reads (its
# records cover every one of them, plus text-only rows) and how many records the miniature has.
FAMILY_MIXES: dict[str, tuple[int, tuple[str, ...]]] = {
    "llava-1.5-json": (
        60,
        ("coco/train2017", "gqa/images", "ocr_vqa/images", "textvqa/train_images", "vg/VG_100K", "vg/VG_100K_2"),
    ),
    "sharegpt4v-json": (
        90,
        (
            "coco/train2017",
            "gqa/images",
            "ocr_vqa/images",
            "textvqa/train_images",
            "vg/VG_100K",
            "vg/VG_100K_2",
            "llava/llava_pretrain/images",
            "sam/images",
            "web-celebrity/images",
            "web-landmark/images",
            "wikiart/images",
            "share_textvqa/images",
        ),
    ),
}
# The mix JSON names the ChartQA folder `chartqa/` while vqa_collection.zip holds `chatqa/`: the real mismatch.
JSON_ALIASES = {"chatqa/": "chartqa/"}


@dataclass(frozen=True)
class Pic:
    """One sample image: its path (archive member or file name), width, height and PIL mode."""

    path: str
    w: int
    h: int
    mode: str = "RGB"


# Per source: the real download's file name and members. Member names copy the real archives' layouts.
ARCHIVES: dict[str, tuple[str, tuple[Pic, ...]]] = {
    "llava-pretrain-images": (
        "images.zip",
        (
            Pic("00000/000000012.jpg", 64, 48),
            Pic("00000/000000345.jpg", 40, 72),
            Pic("00453/004539375.jpg", 96, 64),
            Pic("00453/004539981.jpg", 48, 48),
            Pic("00659/006590001.jpg", 80, 32),
        ),
    ),
    "coco": (
        "train2017.zip",
        (
            Pic("train2017/000000000009.jpg", 96, 72),
            Pic("train2017/000000000025.jpg", 72, 96),
            Pic("train2017/000000033471.jpg", 64, 48),
            Pic("train2017/000000581929.jpg", 96, 40),
        ),
    ),
    "gqa": (
        "images.zip",
        (
            Pic("images/1000.jpg", 64, 48),
            Pic("images/2354786.jpg", 80, 60),
            Pic("images/n161313.jpg", 48, 64),
        ),
    ),
    "textvqa": (
        "train_val_images.zip",
        (
            Pic("train_images/0054c91397f2fe05.jpg", 96, 64),
            Pic("train_images/a4c7a2cba4c7e7f0.jpg", 64, 96),
            Pic("train_images/fe3c5d1b1e2b4a11.jpg", 48, 48),
        ),
    ),
    "vg1": (
        "images.zip",
        (
            Pic("VG_100K/10.jpg", 80, 60),
            Pic("VG_100K/2345.jpg", 60, 80),
            Pic("VG_100K/107899.jpg", 96, 48),
        ),
    ),
    "vg2": (
        "images2.zip",
        (
            Pic("VG_100K_2/1.jpg", 64, 64),
            Pic("VG_100K_2/2415000.jpg", 96, 56),
        ),
    ),
    # The real vqa_collection.zip layout is undocumented; this assumes its six folders at the top, no wrapper.
    "vqa_collection": (
        "vqa_collection.zip",
        (
            Pic("ai2d/images/12.png", 64, 48, "RGBA"),
            Pic("ai2d/images/4093.png", 48, 40),
            Pic("chatqa/train/png/multi_col_803.png", 72, 48),
            Pic("chatqa/train/png/two_col_4217.png", 56, 40),
            Pic("docvqa/train/documents/ffbf0023_4.png", 40, 56, "L"),
            Pic("docvqa/train/documents/xnbl0037_1.png", 36, 48, "L"),
            Pic("dvqa/images/bar_train_00000001.png", 48, 48),
            Pic("dvqa/images/bar_train_00012345.png", 48, 48),
            Pic("geoqa+/images/103.png", 40, 32, "L"),
            Pic("geoqa+/images/2023.png", 48, 36, "RGBA"),
            Pic("synthdog-en/images/image_0.jpg", 96, 64),
            Pic("synthdog-en/images/image_21.jpg", 64, 80),
        ),
    ),
    "allava_vflan": (
        "image_191-task_1k.zip",
        (
            Pic("images_191task_1k/CLEVR_count+CLEVR_train_000123.png", 64, 48),
            Pic("images_191task_1k/VQA-E+000000123456.jpg", 80, 64),
            Pic("images_191task_1k/infographicvqa+38522.png", 40, 72, "RGBA"),
            Pic("images_191task_1k/wikiart_style_classification+1234.jpg", 56, 72),
        ),
    ),
    # The SAM zip's layout is undocumented; this assumes one wrapper folder named after the zip (the recipe
    # finds the sa_*.jpg folder wherever it is).
    "sam": (
        "sam_images_share-sft.zip",
        (
            Pic("sam_images_share-sft/sa_10001.jpg", 96, 64),
            Pic("sam_images_share-sft/sa_223750.jpg", 64, 48),
            Pic("sam_images_share-sft/sa_5012.jpg", 48, 72),
        ),
    ),
    # The WebData zips each nest data/<name>/images/*.
    "web-celebrity": (
        "web-celebrity.zip",
        (
            Pic("data/web-celebrity/images/Choi_Min-sik.jpg", 48, 64),
            Pic("data/web-celebrity/images/Kate_Winslet.jpg", 48, 60),
        ),
    ),
    "web-landmark": (
        "web-landmark.zip",
        (
            Pic("data/web-landmark/images/Eiffel_Tower.jpg", 48, 80),
            Pic("data/web-landmark/images/Golden_Gate_Bridge.jpg", 96, 48),
        ),
    ),
    "wikiart": (
        "wikiart.zip",
        (
            Pic("data/wikiart/images/claude-monet_water-lilies-1916.jpg", 80, 56),
            Pic("data/wikiart/images/hokusai_the-wave.jpg", 72, 48),
        ),
    ),
    "share_textvqa": (
        "share_textvqa.zip",
        (
            Pic("data/share_textvqa/images/0a0bc91825468c45.jpg", 64, 64),
            Pic("data/share_textvqa/images/e4b6ca9d1af3f120.jpg", 80, 48),
        ),
    ),
}

# OCR-VQA: dataset.json lists a URL per key; the sample's are relative (resolved against dataset.json's own URL)
# and point at loose files beside it, in the formats the real crawl meets: JPEG, GIF (two frames), palette PNG.
OCR_IMAGES: tuple[Pic, ...] = (
    Pic("080522393X.jpg", 40, 64),
    Pic("1570761280.gif", 40, 60, "P"),
    Pic("B00008RWPV.png", 36, 56, "P"),
)
# Keys whose URLs are dead (no file behind them), as many real ones are; the sample mix does not use them.
OCR_DEAD = ("0000000000", "B000DEAD00")
OCR_IMAGE_FOLDER = "images"
# The OCR-VQA mirror (the community's zip of the covers as first released): its members sit in ocr_vqa/images/ as
# <key>.jpg; the sample's holds a real JPEG and the GIF under .jpg, and lacks the PNG's key, which the crawl fills.
OCR_MIRROR_FOLDER = "ocr_vqa/images"
OCR_MIRRORED = ("080522393X.jpg", "1570761280.gif")

PRETRAIN_PROMPTS = (
    "Give a brief description of the image.",
    "Render a clear and concise summary of the photo.",
    "Share a concise interpretation of the image provided.",
    "Write a terse but informative summary of the picture.",
)


# --- images -------------------------------------------------------------------------------------------------


def _rng(key: str) -> random.Random:
    # crc32, not hash(): str hashes are salted per process
    return random.Random(SEED ^ zlib.crc32(key.encode("utf-8")))


def _color(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def render(pic: Pic) -> Image.Image:
    """A gradient with a few shapes on it, the same for the same ``pic`` on every run."""
    rng = _rng(pic.path)
    ramp = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270))).resize((pic.w, pic.h))
    img = Image.composite(Image.new("RGB", (pic.w, pic.h), _color(rng)), Image.new("RGB", ramp.size, _color(rng)), ramp)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(1, 3)):
        x0, y0 = rng.randrange(pic.w // 2), rng.randrange(pic.h // 2)
        box = (x0, y0, x0 + rng.randint(4, pic.w // 2), y0 + rng.randint(4, pic.h // 2))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape(box, fill=_color(rng))
    if pic.mode == "RGBA":
        img.putalpha(ramp.point(lambda v: 96 + v * 159 // 255))
        return img
    return img.convert(pic.mode)


def encode(pic: Pic) -> bytes:
    """The image's file bytes, with fixed encoder settings chosen by its extension."""
    buf = io.BytesIO()
    if pic.path.endswith(".png"):
        render(pic).save(buf, "PNG", compress_level=9, optimize=False)
    elif pic.path.endswith(".gif"):
        second = render(Pic(pic.path + "#2", pic.w, pic.h, pic.mode))
        render(pic).save(buf, "GIF", save_all=True, append_images=[second], duration=500, loop=0)
    else:
        render(pic).save(buf, "JPEG", quality=85, subsampling="4:2:0", optimize=False, progressive=False)
    return buf.getvalue()


def encoders() -> str:
    """The codec versions that determine the image bytes (recorded in sample.toml)."""
    names = ("libjpeg_turbo", "zlib", "zlib_ng")
    return ", ".join(f"{name} {features.version(name)}" for name in names if features.version(name))


# --- archives -----------------------------------------------------------------------------------------------


def _folders(path: str) -> Iterator[str]:
    parts = PurePosixPath(path).parts[:-1]
    for i in range(1, len(parts) + 1):
        yield "/".join(parts[:i]) + "/"


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A stored zip of ``files`` plus an entry per folder (as ``zip -r`` writes), in sorted order, fixed metadata."""
    entries = dict(files)
    for path in files:
        entries.update({folder: b"" for folder in _folders(path)})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3  # unix, whatever the platform running this script
            info.external_attr = (0o40755 << 16) | 0x10 if name.endswith("/") else 0o100644 << 16
            zf.writestr(info, entries[name])
    return buf.getvalue()


# --- mix JSON -----------------------------------------------------------------------------------------------

ADJ = ("red", "small", "striped", "wooden", "bright", "old", "blue", "tall", "rusty", "shiny")
NOUN = ("bus", "cat", "kite", "lighthouse", "bicycle", "teapot", "umbrella", "horse", "boat", "clock")
PLACE = ("near a river", "on a busy street", "under a cloudy sky", "in a quiet park", "beside a café", "on a table")
COLORS = ("Red", "Blue", "Green", "White", "Black", "Yellow", "Brown")
SHORT = "\nAnswer the question using a single word or phrase."
QA = Callable[[random.Random], tuple[str, str]]


def _caption(rng: random.Random) -> tuple[str, str]:
    q = rng.choice(
        ("Describe this image in detail.", "What do you see happening in this image?", "Write a short caption.")
    )
    a = f"A {rng.choice(ADJ)} {rng.choice(NOUN)} {rng.choice(PLACE)}."
    extra = f" In the background there is a {rng.choice(ADJ)} {rng.choice(NOUN)}, and the light is soft."
    return q, a + (extra if "detail" in q else "")


def _vqa(rng: random.Random) -> tuple[str, str]:
    noun, other = rng.sample(NOUN, 2)
    return rng.choice(
        (
            (f"What color is the {noun}?{SHORT}", rng.choice(COLORS)),
            (f"Is the {noun} to the left or to the right of the {other}?{SHORT}", rng.choice(("Left", "Right"))),
            (f"How many {noun}s are there?{SHORT}", str(rng.randint(1, 7))),
            (f"Is there a {noun} in the picture?{SHORT}", rng.choice(("Yes", "No"))),
        )
    )


def _book(rng: random.Random) -> tuple[str, str]:
    return rng.choice(
        (
            ("Who wrote this book?", rng.choice(("Jane Austen", "Haruki Murakami", "Gabriel García Márquez"))),
            ("What is the title of this book?", rng.choice(("The Quiet Garden", "Cooking for Two", "Rivers of Stone"))),
            ("What type of book is this?", rng.choice(("Travel", "Cookbooks, Food & Wine", "Science & Math"))),
            ("Is this a comedy book?", rng.choice(("Yes", "No"))),
        )
    )


def _text_in_image(rng: random.Random) -> tuple[str, str]:
    word = rng.choice(("OPEN", "STOP", "Exit 12", "Main St", "SALE 50%", "Café Luna"))
    return rng.choice(
        (("What is written on the sign?", word), (f"What does the text on the {rng.choice(NOUN)} say?", word))
    )


def _chart(rng: random.Random) -> tuple[str, str]:
    return rng.choice(
        (
            ("What is the value of the largest bar?", str(rng.randint(10, 99))),
            ("Which bar has the smallest value?", rng.choice(("sand", "ivory", "pilot"))),
            ("In which year was the share the highest?", str(rng.randint(2005, 2020))),
        )
    )


def _document(rng: random.Random) -> tuple[str, str]:
    return rng.choice(
        (
            ("What is the date mentioned in this letter?", f"March {rng.randint(1, 28)}, 19{rng.randint(70, 99)}"),
            ("To whom is this memo addressed?", rng.choice(("Dr. R. Lee", "All staff", "J. Smith"))),
            ("What is the total amount?", f"${rng.randint(100, 9999)}.00"),
        )
    )


def _choice(rng: random.Random) -> tuple[str, str]:
    angle = rng.choice((30, 40, 50))
    return rng.choice(
        (
            ("Which stage comes after the larva?\nA. egg\nB. pupa\nC. adult\nAnswer with the option's letter.", "B"),
            (
                f"As shown in the figure, AB is the diameter of circle O and ∠C = {angle}°. Find ∠AOD.\n"
                f"Choices: A: {angle}° B: {2 * angle}° C: 90° D: {180 - angle}°",
                "B",
            ),
        )
    )


def _ocr(rng: random.Random) -> tuple[str, str]:
    words = " ".join(rng.choice(("lorem", "ipsum", "river", "stone", "quiet", "north", "paper")) for _ in range(6))
    return "What is written in the image?", words


def _who(rng: random.Random) -> tuple[str, str]:
    return rng.choice(
        (
            ("Who is the person in this image?", "This appears to be a well-known actor at a film festival."),
            ("Where was this photo taken?", "It looks like a famous landmark photographed on a clear day."),
            ("Describe the style of this artwork.", "Impressionist brushwork with soft, layered colours."),
        )
    )


def _instruction(rng: random.Random) -> tuple[str, str]:
    return rng.choice(
        (
            ("Count the objects in the image and answer with a number.", str(rng.randint(1, 9))),
            ("Classify the art style of this painting. Options: Ukiyo-e, Cubism, Baroque.", "Ukiyo-e"),
            ("Explain what the image shows in one paragraph.", _caption(rng)[1]),
        )
    )


FAMILIES: dict[str, QA] = {
    "coco": _caption,
    "llava": _caption,
    "sam": _caption,
    "gqa": _vqa,
    "vg": _vqa,
    "ocr_vqa": _book,
    "textvqa": _text_in_image,
    "share_textvqa": _text_in_image,
    "chartqa": _chart,
    "dvqa": _chart,
    "docvqa": _document,
    "ai2d": _choice,
    "geoqa+": _choice,
    "synthdog-en": _ocr,
    "web-celebrity": _who,
    "web-landmark": _who,
    "wikiart": _who,
    "allava_vflan": _instruction,
}
MAX_ROUNDS = {"gqa": 4, "vg": 4, "ocr_vqa": 4, "textvqa": 2, "chartqa": 3, "docvqa": 2, "dvqa": 3, "allava_vflan": 2}
CHAT = (
    ("How do I reverse a list in Python?", "Use `items[::-1]` for a reversed copy, or `items.reverse()` in place."),
    ("¿Qué hora es en Tokio si en Madrid son las 9?", "Son las 17:00 en Tokio (8 horas más, en horario de invierno)."),
    ("Write a haiku about autumn.", "Crisp leaves drift and fall,\nthe river carries amber,\nsilence after rain."),
    ("今天适合去公园散步吗？", "如果天气晴朗、气温适宜，去公园散步是个好主意。"),
    ("What is the capital of Australia?", "Canberra."),
    ("Summarize the plot of Hamlet in two sentences.", "Prince Hamlet seeks to avenge his father. Most die."),
)


def _family(image: str) -> str:
    return image.split("/", 1)[0]


def _conversation(first: str, pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    turns = []
    for i, (q, a) in enumerate(pairs):
        turns += [{"from": "human", "value": first if i == 0 else q}, {"from": "gpt", "value": a}]
    return turns


def image_record(rng: random.Random, image: str, rid: int | str) -> dict[str, object]:
    family = _family(image)
    qa = FAMILIES[family]
    pairs = [qa(rng) for _ in range(rng.randint(1, MAX_ROUNDS.get(family, 1)))]
    q = pairs[0][0]
    first = f"{q}\n<image>" if rng.random() < 0.15 else f"<image>\n{q}"
    return {"id": rid, "image": image, "conversations": _conversation(first, pairs)}


def text_record(rng: random.Random, n: int) -> dict[str, object]:
    pairs = rng.sample(CHAT, rng.randint(1, 3))
    record: dict[str, object] = {"id": f"sg{n:05d}_{rng.randrange(10)}"}
    if n % 2:
        record["model"] = ""  # some ShareGPT rows carry an empty model key
    record["conversations"] = _conversation(pairs[0][0], pairs)
    return record


def _record_id(image: str, n: int, seq: int) -> int | str:
    """Ids as the sources spell them (GQA's are ints), made unique: the n-th use of an image gets a suffix."""
    if image.startswith("gqa/"):
        return 20000000 + seq
    stem = PurePosixPath(image).stem
    return f"{stem}_{n}" if n else stem


def mix_records(images: list[str], count: int = MIX_RECORDS, seed: int = SEED) -> list[dict[str, object]]:
    """Every image once, then random picks and text-only rows up to ``count``, in a shuffled order."""
    rng = random.Random(seed)
    picks = list(images) + [rng.choice(images) for _ in range(count - len(images) - count // 10)]
    uses: dict[str, int] = {}
    records: list[dict[str, object]] = []
    for image in picks:
        records.append(image_record(rng, image, _record_id(image, uses.get(image, 0), len(records))))
        uses[image] = uses.get(image, 0) + 1
    records += [text_record(rng, n) for n in range(count - len(records))]
    rng.shuffle(records)
    return records


def family_records(name: str, images: list[str]) -> list[dict[str, object]]:
    """The miniature of another instruction mix: records over the images of its folders only."""
    count, prefixes = FAMILY_MIXES[name]
    own = [image for image in images if any(image.startswith(p + "/") for p in prefixes)]
    return mix_records(own, count, SEED + 10 + list(FAMILY_MIXES).index(name))


def pretrain_records(members: tuple[Pic, ...]) -> list[dict[str, object]]:
    """The 558K caption JSON's shape: the image path relative to the images folder, one record per image."""
    rng = random.Random(SEED + 1)
    out: list[dict[str, object]] = []
    for i, pic in enumerate(members):
        prompt = PRETRAIN_PROMPTS[i % len(PRETRAIN_PROMPTS)]
        human = f"{prompt}\n<image>" if i % 2 == 0 else f"<image>\n{prompt}"
        caption = f"{rng.choice(ADJ)} {rng.choice(NOUN)} {rng.choice(PLACE)}"
        out.append(
            {
                "id": PurePosixPath(pic.path).stem,
                "image": pic.path,
                "conversations": _conversation(human, [("", caption)]),
            }
        )
    return out


def json_bytes(records: list[dict[str, object]]) -> bytes:
    return (json.dumps(records, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --- the sample catalog -------------------------------------------------------------------------------------


def landed(source: Source, member: str) -> str:
    """Where an archive member lands under the data root (the ``sam`` recipe lands files by bare name)."""
    if source.kind == "sam":
        return str(PurePosixPath(source.into) / PurePosixPath(member).name)
    return str(PurePosixPath(source.into) / member.removeprefix(source.strip))


def ocr_key(pic: Pic) -> str:
    return PurePosixPath(pic.path).stem


def json_path(path: str) -> str:
    for real, alias in JSON_ALIASES.items():
        if path.startswith(real):
            return alias + path.removeprefix(real)
    return path


def mix_images(sources: list[Source]) -> list[str]:
    """Every image path the sample mix may reference, as the JSON spells it."""
    out = [json_path(landed(s, pic.path)) for s in sources if s.name in ARCHIVES for pic in ARCHIVES[s.name][1]]
    out += [f"{s.into}/{ocr_key(pic)}.jpg" for s in sources if s.kind == "ocrvqa" for pic in OCR_IMAGES]
    return sorted(out)


def ocr_index() -> dict[str, dict[str, object]]:
    """dataset.json's shape: key -> the image URL (relative here) and the book's questions and answers."""
    rng = random.Random(SEED + 2)
    index: dict[str, dict[str, object]] = {}
    for key, name in sorted([(ocr_key(p), p.path) for p in OCR_IMAGES] + [(k, f"{k}.jpg") for k in OCR_DEAD]):
        pairs = [_book(rng) for _ in range(3)]
        index[key] = {
            "imageURL": f"{OCR_IMAGE_FOLDER}/{name}",
            "questions": [q for q, _ in pairs],
            "answers": [a for _, a in pairs],
            "title": rng.choice(("The Quiet Garden", "Cooking for Two", "Rivers of Stone")),
            "authorName": rng.choice(("Jane Austen", "Haruki Murakami")),
            "genre": rng.choice(("Travel", "Cookbooks, Food & Wine", "Science & Math")),
            "split": rng.choice((1, 1, 1, 2, 3)),
        }
    return index


def mirror_name(src: Source) -> str:
    return PurePosixPath(urlparse(src.mirror).path).name


def ocr_mirror() -> bytes:
    """The miniature mirror zip: some of the covers, each as ``<key>.jpg`` whatever its format."""
    pics = [pic for pic in OCR_IMAGES if pic.path in OCR_MIRRORED]
    return zip_bytes({f"{OCR_MIRROR_FOLDER}/{ocr_key(pic)}.jpg": encode(pic) for pic in pics})


def loose_files(sources: list[Source]) -> dict[str, bytes]:
    """Files served beside a source's download (the OCR-VQA images and mirror), by path under ``sample/``."""
    out = {
        f"{s.name}/{OCR_IMAGE_FOLDER}/{pic.path}": encode(pic)
        for s in sources
        if s.kind == "ocrvqa"
        for pic in OCR_IMAGES
    }
    out.update({f"{s.name}/{mirror_name(s)}": ocr_mirror() for s in sources if s.mirror})
    return out


def source_files(sources: list[Source]) -> dict[str, tuple[str, bytes]]:
    """Per source: its file name and bytes."""
    out = {}
    for src in sources:
        if src.name in ARCHIVES:
            name, pics = ARCHIVES[src.name]
            out[src.name] = (name, zip_bytes({pic.path: encode(pic) for pic in pics}))
        elif src.name in FAMILY_MIXES:
            out[src.name] = (src.file_name, json_bytes(family_records(src.name, mix_images(sources))))
        elif src.kind == "mix_json":
            out[src.name] = (src.file_name, json_bytes(mix_records(mix_images(sources))))
        elif src.name == "llava-pretrain-json":
            out[src.name] = (src.file_name, json_bytes(pretrain_records(ARCHIVES["llava-pretrain-images"][1])))
        elif src.kind == "ocrvqa":
            out[src.name] = (src.file_name, (json.dumps(ocr_index(), indent=1) + "\n").encode("utf-8"))
        else:
            raise SystemExit(f"source {src.name!r} of sources.toml has no sample yet; add it to {Path(__file__).name}")
    return out


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def source_table(src: Source, file_name: str, data: bytes) -> str:
    """One ``[[source]]`` table: the default catalog's recipe keys, a relative file: URL, size and checksum."""
    keys: dict[str, object] = {
        "name": src.name,
        "title": f"{src.title} (sample)",
        "url": f"file:{SAMPLE}/{src.name}/{file_name}",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "archive": src.archive,
        "into": src.into,
        "strip": src.strip,
        "kind": src.kind,
        "groups": list(src.groups),
    }
    if src.academic_only:
        keys["academic_only"] = True
    for key in (
        "needs",
        "needs_one_of",
        "image_prefixes",
        "spellings",
    ):  # the recipe's data, as the default catalog has it
        if getattr(src, key):
            keys[key] = [list(v) if isinstance(v, tuple) else v for v in getattr(src, key)]
    if src.mirror:
        keys["mirror"] = f"file:{SAMPLE}/{src.name}/{mirror_name(src)}"
    if src.name in ARCHIVES:
        keys["images"] = len(ARCHIVES[src.name][1])
    return "[[source]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in keys.items())


def catalog_text(sources: list[Source], files: dict[str, tuple[str, bytes]]) -> str:
    head = (
        "# The embedded sample mirror: a few images per source, laid out like every real download.\n"
        "# Generated by scripts/make_sample.py; do not edit, rerun the script.\n"
        f"# encoders: {encoders()}\n"
        "# vqa_collection: the real zip's layout is undocumented; the sample assumes its six folders\n"
        "# (ai2d/images, chatqa/train/png, docvqa/train/documents, dvqa/images, geoqa+/images,\n"
        "# synthdog-en/images) at the top of the archive, no wrapper folder.\n"
        "# sam: the real zip's layout is undocumented too; the sample holds sam_images_share-sft/sa_*.jpg.\n"
        "# ocr_vqa: dataset.json's image URLs are relative to its own URL and point at sample/ocr_vqa/images/\n"
        f"# (JPEG, GIF, palette PNG); the keys {', '.join(OCR_DEAD)} have dead URLs, unused by the mix.\n"
        f"# ocr_vqa's mirror zip holds {OCR_MIRROR_FOLDER}/<key>.jpg for {', '.join(OCR_MIRRORED)} (the GIF under\n"
        "# .jpg); the crawl fills the key it lacks.\n"
    )
    return head + "".join("\n" + source_table(s, *files[s.name]) for s in sources)


def build(out: Path, default_catalog: Path = CATALOG_DIR / "sources.toml") -> None:
    """Write ``out/sample.toml`` and ``out/sample/`` (replacing any previous sample there)."""
    sources = list(load_catalog(default_catalog).sources)
    files = source_files(sources)
    shutil.rmtree(out / SAMPLE, ignore_errors=True)
    for name, (file_name, data) in files.items():
        _write(out / SAMPLE / name / file_name, data)
    for rel, data in loose_files(sources).items():
        _write(out / SAMPLE / rel, data)
    _write(out / "sample.toml", catalog_text(sources, files).encode("utf-8"))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=CATALOG_DIR, help="folder receiving sample.toml and sample/")
    build(parser.parse_args().out)


if __name__ == "__main__":
    main()
