"""The OCR-VQA recipe: it reads the keys the laid-out mixes reference and hands them to the fetch stage's crawl,
with the folder to write into; without a laid-out mix (or with ``--all``) every key is crawled."""

from __future__ import annotations

import json
from pathlib import Path

from llavamix.catalog import Catalog, load_catalog
from llavamix.fetch import CrawlOptions, FetchOptions
from llavamix.foundation.layout import Layout
from llavamix.recipes import Context, is_done, run_fetch, run_lay_out
from tests.fetch.test_ocrvqa import INPUTS, OPTS, landed, publish
from tests.httpserver import LoopbackServer

KEYS = sorted(INPUTS)


def catalog_for(tmp_path: Path, server: LoopbackServer, mix_keys: list[str]) -> Catalog:
    """A mix source (a local file naming ``mix_keys``' images) and the OCR-VQA source served by ``server``."""
    ocr = publish(server, INPUTS, dead=("0008MISSING",))
    records = [{"id": i, "image": f"ocr_vqa/images/{k}.jpg", "conversations": []} for i, k in enumerate(mix_keys)]
    records.append({"id": "text", "conversations": []})
    (tmp_path / "mix.json").write_text(json.dumps(records))
    (tmp_path / "cat.toml").write_text(
        '[[source]]\nname = "mix"\nurl = "file:mix.json"\ninto = "open-llava-next"\nkind = "mix_json"\n\n'
        f'[[source]]\nname = "ocr_vqa"\nurl = "{ocr.url}"\ninto = "ocr_vqa/images"\nkind = "ocrvqa"\n'
        'needs = ["mix"]\n'
    )
    return load_catalog(tmp_path / "cat.toml")


def lay_out_mix(ctx: Context) -> None:
    mix = ctx.catalog["mix"]
    run_lay_out(mix, run_fetch(mix, ctx).path, ctx)


def test_the_crawl_takes_the_keys_the_laid_out_mix_references(tmp_path: Path, server: LoopbackServer) -> None:
    ctx = Context(catalog_for(tmp_path, server, ["0004GIFANIM", "0004GIFANIM", "0008MISSING"]), Layout(tmp_path / "d"))
    lay_out_mix(ctx)
    crawl = run_fetch(ctx.catalog["ocr_vqa"], ctx).crawl
    assert crawl is not None and (crawl.keys, crawl.landed, crawl.dead_records) == (2, 1, 1)
    assert sorted(landed(ctx.layout)) == ["0004GIFANIM"]
    assert [r.path for r in server.requests if "/images/" in r.path] == ["/ocr/images/0004GIFANIM.gif"]
    done = run_lay_out(ctx.catalog["ocr_vqa"], tmp_path / "d" / ".llavamix/downloads/ocr_vqa/dataset.json", ctx)
    assert (done.files, done.roots) == (1, ["ocr_vqa/images"])
    assert is_done(ctx.catalog["ocr_vqa"], ctx)


def test_without_a_laid_out_mix_every_key_is_crawled(tmp_path: Path, server: LoopbackServer) -> None:
    ctx = Context(catalog_for(tmp_path, server, ["0004GIFANIM"]), Layout(tmp_path / "d"), OPTS)
    crawl = run_fetch(ctx.catalog["ocr_vqa"], ctx).crawl
    assert crawl is not None and crawl.keys == len(KEYS) + 1 and crawl.dead_records is None
    assert sorted(landed(ctx.layout)) == KEYS


def test_all_keys_crawls_every_key_and_is_never_done(tmp_path: Path, server: LoopbackServer) -> None:
    every = FetchOptions(crawl=CrawlOptions(all_keys=True, jobs=4))
    ctx = Context(catalog_for(tmp_path, server, ["0004GIFANIM"]), Layout(tmp_path / "d"), every)
    lay_out_mix(ctx)
    src = ctx.catalog["ocr_vqa"]
    crawl = run_fetch(src, ctx).crawl
    assert crawl is not None and crawl.keys == len(KEYS) + 1 and crawl.dead_records == 0
    run_lay_out(src, tmp_path / "d" / ".llavamix/downloads/ocr_vqa/dataset.json", ctx)
    assert not is_done(src, ctx), "a finished crawl of the mix's keys is not one of every key"
