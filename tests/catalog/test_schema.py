"""Catalog schema and loader: the built-in catalogs load, groups resolve, and bad TOML gets errors naming the place."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llavamix.catalog import Source, load_catalog, resolve_names
from llavamix.catalog.schema import catalog_path
from llavamix.foundation.errors import ConfigError

GOOD = """
[[source]]
name = "coco"
url = "http://images.cocodataset.org/zips/train2017.zip"
archive = "zip"
into = "coco"
"""


def write(folder: Path, text: str, name: str = "cat.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def source_toml(**keys: object) -> str:
    """A catalog with one source named ``mine``, its keys overridden or extended by ``keys``."""
    table = {"name": "mine", "url": "https://example.org/a.zip", "archive": "zip", "into": "a", **keys}
    return "[[source]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items())  # JSON scalars are TOML


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(str(path))) as info:  # every catalog error names the file
        load_catalog(path)
    message = str(info.value)
    return message


# --- the built-in catalogs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "sample"])
def test_builtin_catalogs_load(name: str) -> None:
    catalog = load_catalog(name)
    assert catalog.path == catalog_path(name)
    assert "mix1m" in catalog.names and "coco" in catalog.names


def test_default_catalog_facts() -> None:
    catalog = load_catalog()
    coco = catalog["coco"]
    assert (coco.size, coco.checksum) == (19336861798, ("md5", "cced6f7f71b7629ddf16f17bbcfab6b2"))
    assert catalog.host_limit("downloads.cs.stanford.edu", 8) == 1
    assert catalog.host_limit("example.org", 8) == 8
    assert catalog["vg1"].file_name == "images.zip" and catalog["vg2"].file_name == "images2.zip"


@pytest.mark.parametrize("name", ["default", "sample"])
def test_every_image_source_names_its_prefixes(name: str) -> None:
    catalog = load_catalog(name)
    image_sources = {s.name for s in catalog.sources if s.archive != "none" or s.kind == "ocrvqa"}
    assert image_sources == set(catalog.prefix_sources.values())
    assert catalog.prefix_sources == load_catalog().prefix_sources, "the sample mirrors the default's prefixes"
    assert catalog.prefix_sources["chartqa/train/png"] == catalog.prefix_sources["chatqa/train/png"] == "vqa_collection"
    assert catalog.spellings == [("chartqa", "chatqa")]


@pytest.mark.parametrize("name", ["default", "sample"])
def test_groups_resolve(name: str) -> None:
    catalog = load_catalog(name)
    pretrain = [s.name for s in resolve_names(catalog, ["pretrain"])]
    assert pretrain == ["llava-pretrain-json", "llava-pretrain-images"]
    finetune = [s.name for s in resolve_names(catalog, ["finetune"])]
    assert finetune[0] == "mix1m" and "llava-pretrain-json" not in finetune
    assert {"coco", "gqa", "textvqa", "vg1", "vg2", "vqa_collection", "allava_vflan"} <= set(finetune)


def test_resolve_names_keeps_catalog_order_without_duplicates() -> None:
    catalog = load_catalog()
    both = [s.name for s in resolve_names(catalog, ["coco", "pretrain", "coco", "llava-pretrain-images"])]
    assert both == ["llava-pretrain-json", "llava-pretrain-images", "coco"]
    assert [s.name for s in resolve_names(catalog, [])] == catalog.names


def test_unknown_source_name_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match=r"no source or group named 'cocoo'.*did you mean 'coco'\?"):
        resolve_names(load_catalog(), ["cocoo"])
    with pytest.raises(ConfigError, match=r"did you mean 'finetune'\?"):
        load_catalog()["fintune"]


def test_unknown_catalog_spec_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="neither a built-in"):
        load_catalog(tmp_path / "missing.toml")


# --- file: URLs ---------------------------------------------------------------------------------------------


def test_relative_file_urls_resolve_against_the_catalog_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = write(tmp_path / "sub", source_toml(url="file:data/my%20a.zip"))
    src = load_catalog(path)["mine"]
    assert src.url == (tmp_path / "sub" / "data" / "my a.zip").resolve().as_uri()
    assert src.file_name == "my a.zip"


def test_absolute_file_urls_are_kept(tmp_path: Path) -> None:
    url = (tmp_path / "x.zip").as_uri()
    assert load_catalog(write(tmp_path, source_toml(url=url)))["mine"].url == url


# --- errors name file, source and key -----------------------------------------------------------------------

SOURCE_KEYS = set(Source.__struct_fields__)


@settings(max_examples=25, deadline=None)
@given(key=st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).filter(lambda k: k not in SOURCE_KEYS))
def test_unknown_source_key_is_named(key: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        message = error_for(Path(tmp), source_toml(**{key: "x"}))
    assert "'mine'" in message and key in message and "allowed keys" in message


def test_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    message = error_for(tmp_path, "sources = []\n" + GOOD)
    assert "sources" in message and "allowed top-level keys" in message


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"url": "ftp://example.org/a.zip"}, "scheme 'ftp'"),
        ({"url": "example.org/a.zip"}, "scheme 'none'"),
        ({"url": "hf://models/x/y/a.zip"}, "hf://datasets/"),
        ({"md5": "cced6f7f71b7629ddf16f17bbcfab6b"}, "md5 'cced6f7f71b7629ddf16f17bbcfab6b' is not 32 hex digits"),
        ({"md5": "z" * 32}, "is not 32 hex digits"),
        ({"sha256": "ab" * 31}, "is not 64 hex digits"),
        ({"size": -1}, "size -1 is negative"),
        ({"approx_size": -5}, "approx_size -5 is negative"),
        ({"size": "big"}, "size"),
        ({"archive": "rar"}, "archive"),
        ({"into": "/abs"}, "into '/abs' is an absolute path; it must be a relative folder"),
        ({"into": "a/../../b"}, "into 'a/../../b' climbs out of its folder with '..'; it must be a relative folder"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, keys: dict[str, object], expected: str) -> None:
    message = error_for(tmp_path, source_toml(**keys))
    assert "source 'mine'" in message and expected in message


def test_missing_required_key_is_named(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[[source]]\nname = "mine"\ninto = "a"\n')
    assert "'mine'" in message and "url" in message


def test_unnamed_source_is_named_by_position(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD + '[[source]]\nurl = "https://example.org/b.zip"\ninto = "b"\n')
    assert "source '#2'" in message and "name" in message


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD + GOOD)
    assert "'coco' appears twice" in message


def test_malformed_toml_is_a_config_error(tmp_path: Path) -> None:
    assert "cannot read catalog" in error_for(tmp_path, "[[source]\nname = 1")


def test_checksum_prefers_sha256_and_lowercases(tmp_path: Path) -> None:
    path = write(tmp_path, source_toml(md5="A" * 32, sha256="B" * 64))
    assert load_catalog(path)["mine"].checksum == ("sha256", "b" * 64)
