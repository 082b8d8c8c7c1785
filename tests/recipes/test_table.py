"""The recipe table and the catalog's registry of kinds agree, and a source built in code (no catalog file to check
it) is refused by the same rules before any of its steps runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from llavamix.catalog import KINDS, Source, load_catalog
from llavamix.foundation.errors import ConfigError
from llavamix.foundation.layout import Layout
from llavamix.recipes import RECIPES, Context, is_done, recipe_for, run_fetch, run_lay_out
from tests.httpserver import LoopbackServer


def test_every_registered_kind_has_its_recipe_and_no_other() -> None:
    assert list(RECIPES) == list(KINDS)
    for name, recipe in RECIPES.items():
        assert recipe.kind is KINDS[name]


@pytest.mark.parametrize("name", ["default", "sample"])
def test_every_builtin_source_has_a_recipe(name: str) -> None:
    for src in load_catalog(name).sources:
        assert recipe_for(src).kind.name == src.kind


@pytest.mark.parametrize(
    ("kind", "archive", "expected"),
    [
        ("sam_detect", "zip", r"kind 'sam_detect' is unknown \(known kinds: archive, mix_json, vqa_collection, sam"),
        ("sam", "none", r"kind 'sam' needs archive = zip \| tar \| tar\.gz, not 'none'"),
        ("vqa_collection", "none", r"kind 'vqa_collection' needs archive = zip \| tar \| tar\.gz"),
        ("mix_json", "zip", r"kind 'mix_json' needs archive = none, not 'zip'"),
        ("ocrvqa", "zip", r"kind 'ocrvqa' needs archive = none, not 'zip'"),
    ],
)
def test_a_source_built_in_code_is_checked_before_any_step(
    tmp_path: Path, kind: str, archive: str, expected: str
) -> None:
    with LoopbackServer() as server:
        url = server.add("/s.bin", b"x")
        src = Source(name="s", url=url, into="s", kind=kind, archive=archive, image_prefixes=["s/images"])  # type: ignore[arg-type]
        ctx = Context(load_catalog("sample"), Layout(tmp_path / "data"))
        download = tmp_path / "s.bin"
        download.write_bytes(b"x")
        for step in (lambda: is_done(src, ctx), lambda: run_fetch(src, ctx), lambda: run_lay_out(src, download, ctx)):
            with pytest.raises(ConfigError, match=rf"source 's': {expected}.*fix the catalog entry"):
                step()
        assert server.requests == []
    assert not (tmp_path / "data").exists()
