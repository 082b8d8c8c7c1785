"""Fix-ups: twin folders aliased in the direction the mix needs (both ways), and the add-path pretraining JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec
import pytest

from llavamix.catalog import load_catalog
from llavamix.foundation.errors import UnsafePathError
from llavamix.foundation.layout import MIX_JSON, PRETRAIN_ADD_PATH_JSON, PRETRAIN_JSON
from llavamix.mix import fix_spellings, make_alias, needed_folders, write_add_path
from llavamix.mix.add_path import PREFIX

SPELLINGS = load_catalog().spellings  # the twin folders come from the catalog: chartqa/ and chatqa/


def write_mix(root: Path, images: list[str]) -> None:
    records = [{"id": i, "image": image, "conversations": []} for i, image in enumerate(images)]
    (root / MIX_JSON).parent.mkdir(parents=True, exist_ok=True)
    (root / MIX_JSON).write_text(json.dumps(records))


def put(root: Path, rel: str, data: bytes = b"png") -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)


@pytest.mark.parametrize(("json_says", "disk_has"), [("chartqa", "chatqa"), ("chatqa", "chartqa")])
def test_chartqa_alias_follows_the_mix_in_both_directions(tmp_path: Path, json_says: str, disk_has: str) -> None:
    write_mix(tmp_path, [f"{json_says}/train/png/a.png", "coco/train2017/1.jpg"])
    put(tmp_path, f"{disk_has}/train/png/a.png")
    made = {(a.link, a.target, a.how) for a in fix_spellings(tmp_path, SPELLINGS)}
    assert (json_says, disk_has, "symlink") in made
    assert (tmp_path / json_says).readlink() == Path(disk_has), "a relative link"
    assert (tmp_path / json_says / "train/png/a.png").read_bytes() == b"png"
    again = {(a.link, a.how) for a in fix_spellings(tmp_path, SPELLINGS)}
    assert (json_says, "exists") in again


def test_llava_next_is_an_alias_of_the_mix_folder(tmp_path: Path) -> None:
    write_mix(tmp_path, [])
    made = fix_spellings(tmp_path, SPELLINGS)
    assert [(a.link, a.target) for a in made] == [("llava-next", "open-llava-next")]
    assert (tmp_path / "llava-next" / MIX_JSON.name).is_file()


def test_nothing_is_aliased_that_is_not_needed_or_already_real(tmp_path: Path) -> None:
    put(tmp_path, "chatqa/train/png/a.png")
    assert fix_spellings(tmp_path, SPELLINGS) == [], "without a mix JSON nothing is known to be needed"
    write_mix(tmp_path, ["chatqa/train/png/a.png"])
    put(tmp_path, "chartqa/train/png/b.png")
    assert [a.link for a in fix_spellings(tmp_path, SPELLINGS)] == ["llava-next"]
    assert not (tmp_path / "chartqa").is_symlink()


def test_needed_folders_are_the_mix_prefixes(tmp_path: Path) -> None:
    write_mix(tmp_path, ["ocr_vqa/images/x.jpg", "chartqa/train/png/a.png", "odd"])
    assert needed_folders(tmp_path) == {"ocr_vqa", "chartqa", "llava-next"}


def test_a_copy_stands_in_where_links_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path, *a: object, **k: object) -> None:
        raise OSError("symlinks are not supported here")

    monkeypatch.setattr(Path, "symlink_to", refuse)
    write_mix(tmp_path, ["chartqa/train/png/a.png"])
    put(tmp_path, "chatqa/train/png/a.png")
    made = {a.link: a.how for a in fix_spellings(tmp_path, SPELLINGS)}
    assert made["chartqa"] == "copy"
    assert (tmp_path / "chartqa/train/png/a.png").read_bytes() == b"png"


PRETRAIN = [
    {
        "id": "000000012",
        "image": "00000/000000012.jpg",
        "conversations": [{"from": "human", "value": "Ünïcode\n<image>"}],
    },
    {"id": 7, "image": "00453/004539375.jpg", "extra": {"x": 1.50, "y": [1, 2]}, "conversations": []},
    {"id": "text", "conversations": [{"from": "gpt", "value": "no image"}]},
    {"id": "null", "image": None, "conversations": []},
    {"id": "done", "image": PREFIX + "00659/006590001.jpg", "conversations": []},
]


def test_add_path_json_is_the_input_with_prefixed_images_record_for_record(tmp_path: Path) -> None:
    src = tmp_path / PRETRAIN_JSON
    src.parent.mkdir(parents=True)
    src.write_text(json.dumps(PRETRAIN, ensure_ascii=False, indent=2), encoding="utf-8")
    made = write_add_path(tmp_path)
    assert made is not None and (made.how, made.records) == ("written", len(PRETRAIN))
    out_raw = msgspec.json.decode((tmp_path / PRETRAIN_ADD_PATH_JSON).read_bytes(), type=list[dict[str, msgspec.Raw]])
    in_raw = msgspec.json.decode(src.read_bytes(), type=list[dict[str, msgspec.Raw]])
    assert len(out_raw) == len(in_raw)
    for before, after in zip(in_raw, out_raw, strict=True):
        assert list(after) == list(before), "same keys in the same order"
        for key in before:
            if key == "image" and isinstance(msgspec.json.decode(before[key]), str):
                image = msgspec.json.decode(before[key])
                assert msgspec.json.decode(after[key]) == (image if image.startswith(PREFIX) else PREFIX + image)
            else:
                assert bytes(after[key]) == bytes(before[key]), key
    assert not list(src.parent.glob("*.part"))


def test_add_path_json_is_rewritten_only_when_its_source_changes(tmp_path: Path) -> None:
    assert write_add_path(tmp_path) is None
    src = tmp_path / PRETRAIN_JSON
    src.parent.mkdir(parents=True)
    src.write_text(json.dumps(PRETRAIN[:2]))
    assert write_add_path(tmp_path).how == "written"  # type: ignore[union-attr]
    assert write_add_path(tmp_path).how == "exists"  # type: ignore[union-attr]
    src.write_text(json.dumps(PRETRAIN[:3]))
    later = (tmp_path / PRETRAIN_ADD_PATH_JSON).stat().st_mtime_ns + 1_000_000
    os.utime(src, ns=(later, later))
    again = write_add_path(tmp_path)
    assert again is not None and (again.how, again.records) == ("written", 3)


@pytest.mark.parametrize(
    ("link", "target", "expected"),
    [
        ("../escaped", "chatqa", r"alias '../escaped' climbs out of its folder"),
        ("{tmp}/escaped", "chatqa", r"alias '/.*/escaped' is an absolute path"),
        ("chartqa", "../outside", r"alias target '../outside' climbs out of its folder"),
    ],
)
def test_alias_paths_stay_inside_the_root(tmp_path: Path, link: str, target: str, expected: str) -> None:
    root = tmp_path / "data"
    put(root, "chatqa/train/png/a.png")
    (tmp_path / "outside").mkdir()
    with pytest.raises(UnsafePathError, match=expected):
        make_alias(root, link.format(tmp=tmp_path), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "outside"]
    assert sorted(p.name for p in root.iterdir()) == ["chatqa"]


def test_the_twins_are_the_catalogs_spellings(tmp_path: Path) -> None:
    write_mix(tmp_path, ["maps/a.png", "chartqa/train/png/a.png"])
    put(tmp_path, "cartes/a.png")
    put(tmp_path, "chatqa/train/png/a.png")
    made = {a.link: a.target for a in fix_spellings(tmp_path, [("maps", "cartes")])}
    assert made == {"maps": "cartes", "llava-next": "open-llava-next"}, "no pair beyond the catalog's and the mix's"
