"""``needs``, ``needs_one_of``, ``image_prefixes`` and ``spellings`` are checked when the catalog loads: a need
names a source of the catalog and no cycle; prefixes are plain folders, each claimed by one source; spellings
pair two folder names."""

from __future__ import annotations

from pathlib import Path

import pytest

from llavamix.catalog import load_catalog, resolve_names
from tests.catalog.test_schema import error_for, source_toml, write


def chain(**needs: list[str]) -> str:
    """One source per keyword, in order, each needing the listed names."""
    return "".join(source_toml(name=name, into=name, needs=wanted) for name, wanted in needs.items())


def test_a_need_must_name_a_source_of_the_catalog(tmp_path: Path) -> None:
    message = error_for(tmp_path, chain(mix1m=[], ocr_vqa=["mix1n"]))
    assert "source 'ocr_vqa': needs 'mix1n', which is no source of this catalog; did you mean 'mix1m'?" in message


@pytest.mark.parametrize(
    ("needs", "cycle"),
    [
        ({"a": ["a"]}, "a -> a"),
        ({"a": ["b"], "b": ["a"]}, "a -> b -> a"),
        ({"a": [], "b": ["c"], "c": ["d"], "d": ["b", "a"]}, "b -> c -> d -> b"),
    ],
)
def test_needs_must_not_form_a_cycle(tmp_path: Path, needs: dict[str, list[str]], cycle: str) -> None:
    message = error_for(tmp_path, chain(**needs))
    assert f"the needs form a cycle: {cycle}; a source cannot wait for itself" in message


def test_the_builtin_crawl_needs_one_of_the_mixes() -> None:
    for name in ("default", "sample"):
        catalog = load_catalog(name)
        assert catalog["ocr_vqa"].needs_one_of == ["mix1m", "llava-1.5-json", "sharegpt4v-json"]
        assert [s.name for s in catalog.with_needs(resolve_names(catalog, ["ocr_vqa"]))] == ["mix1m", "ocr_vqa"]
        chosen = catalog.with_needs(resolve_names(catalog, ["llava-1.5-json", "ocr_vqa"]))
        assert [s.name for s in chosen] == ["llava-1.5-json", "ocr_vqa"], "an alternative already chosen suffices"


def alternatives(**needs: list[str]) -> str:
    """One source per keyword, in order, each needing one of the listed names."""
    return "".join(source_toml(name=name, into=name, needs_one_of=wanted) for name, wanted in needs.items())


def test_an_alternative_must_name_a_source_of_the_catalog(tmp_path: Path) -> None:
    message = error_for(tmp_path, alternatives(mix1m=[], ocr_vqa=["mix1m", "llava15"]))
    assert "source 'ocr_vqa': needs 'llava15', which is no source of this catalog" in message


def test_alternatives_must_not_form_a_cycle(tmp_path: Path) -> None:
    message = error_for(tmp_path, alternatives(a=["b", "c"], b=[], c=["a"]))
    assert "the needs form a cycle: a -> c -> a" in message


def test_with_needs_adds_the_first_alternative_only_when_none_is_chosen(tmp_path: Path) -> None:
    text = alternatives(first=[], second=[], crawl=["first", "second"]) + chain(needs_second=["second"])
    catalog = load_catalog(write(tmp_path, text))
    widened = catalog.with_needs
    assert [s.name for s in widened([catalog["crawl"]])] == ["first", "crawl"]
    assert [s.name for s in widened([catalog["crawl"], catalog["second"]])] == ["second", "crawl"]
    assert [s.name for s in widened([catalog["crawl"], catalog["needs_second"]])] == ["second", "crawl", "needs_second"]
    assert catalog.waits_for(catalog["crawl"]) == ["first", "second"]


def test_with_needs_follows_needs_of_needs_in_catalog_order(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, chain(top=[], mid=["top"], low=["mid"], other=[])))
    assert [s.name for s in catalog.with_needs([catalog["low"]])] == ["top", "mid", "low"]
    assert [s.name for s in catalog.with_needs([catalog["other"], catalog["top"]])] == ["top", "other"]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"image_prefixes": ["coco/"]}, "image_prefixes value 'coco/' is not a plain folder path"),
        ({"image_prefixes": ["./coco"]}, "image_prefixes value './coco' is not a plain folder path"),
        ({"image_prefixes": ["/coco"]}, "image_prefixes '/coco' is an absolute path"),
        ({"image_prefixes": ["a/../b"]}, "image_prefixes 'a/../b' contains '..'"),
        ({"image_prefixes": [""]}, "image_prefixes '' is empty"),
        ({"spellings": [["chartqa", "chartqa"]]}, "spellings ['chartqa', 'chartqa']: each pair names two different"),
        ({"spellings": [["a/b", "c"]]}, "spellings ['a/b', 'c']: each pair names two different top-level folders"),
        ({"spellings": [["a", "b", "c"]]}, "spellings"),
    ],
)
def test_bad_folder_data_is_named(tmp_path: Path, keys: dict[str, object], expected: str) -> None:
    message = error_for(tmp_path, source_toml(**keys))
    assert "source 'mine'" in message and expected in message


def test_a_prefix_belongs_to_one_source(tmp_path: Path) -> None:
    text = source_toml(name="a", image_prefixes=["x/images"]) + source_toml(name="b", image_prefixes=["x/images"])
    message = error_for(tmp_path, text)
    assert "image prefix 'x/images' is claimed by sources 'a' and 'b'" in message
