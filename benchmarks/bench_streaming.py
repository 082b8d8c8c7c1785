"""Streaming benchmark: a WebDataset pack read by 4 DataLoader workers, from local disk and from a loopback S3 server
(moto), llavamix ``ShardDataset`` vs the webdataset library's own pipeline (``split_by_node`` / ``split_by_worker``)
on the same shards with the same preprocessing (``ShardDataset.sample``: JSON decode, image decode, anyres, tokens).
Figures: samples/s and bytes read per epoch (counted where each side opens a shard), and the ratios.
Goals: >= 1.0x webdataset's samples/s, <= 1.1x the pack's bytes.

    .venv/bin/python benchmarks/bench_streaming.py            # 480 records
    .venv/bin/python benchmarks/bench_streaming.py --small    # 96 records
Needs: torch, transformers, sentencepiece, matplotlib, webdataset, s3fs, moto[server].
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

WORKERS = 4
BYTES = multiprocessing.Value("q", 0)  # shared with the forked DataLoader workers

from tests.loader.test_streaming import Counted  # noqa: E402  # the same byte counter as the tests


def count_llavamix_reads() -> None:
    from llavamix.loader import shardio

    opener = shardio.open_source
    shardio.open_source = lambda target, options: Counted(opener(target, options), BYTES)


def make_pack(tmp: Path, n: int) -> Path:
    from bench_loader import make_data

    from llavamix.pack import PackOptions, ShardSize, pack_mix

    make_data(tmp, n)
    out = tmp / "pack"
    pack_mix(tmp / "mix.json", tmp, out, PackOptions(format="webdataset", shard_size=ShardSize.parse("24")))
    return out


def webdataset_pipeline(urls: list[str], ours):
    import fsspec
    import webdataset as wds

    from llavamix.foundation.formats.samples import ShardSample

    def opened(src):
        for item in src:
            yield {**item, "stream": Counted(fsspec.open(item["url"], "rb").open(), BYTES)}

    def to_sample(s):
        ext = next((k for k in s if not k.startswith("__") and k != "json"), None)
        return ours.sample(ShardSample(int(s["__key__"]), s["json"], s[ext] if ext else None, ext))

    return wds.DataPipeline(
        wds.SimpleShardList(urls), wds.split_by_node, wds.split_by_worker, opened,
        wds.tariterators.tar_file_expander, wds.tariterators.group_by_keys, wds.map(to_sample),
    )  # fmt: skip


def epoch(dataset) -> tuple[int, float, int]:
    import torch

    BYTES.value = 0
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, num_workers=WORKERS, collate_fn=lambda b: b)
    t0 = time.perf_counter()
    n = sum(len(batch) for batch in loader)
    return n, time.perf_counter() - t0, BYTES.value


def compare(where: str, pack: str, size: int, tok) -> None:
    from llavamix.foundation.formats.pack import read_manifest
    from llavamix.loader import ShardDataset

    ours = ShardDataset(pack, tok, batch_size=4, world_size=1, rank=0, shuffle=False)
    urls = [ours.source.target(s.name) for s in read_manifest(Path(pack) if "://" not in pack else LOCAL).shards]
    n_wds, t_wds, b_wds = epoch(webdataset_pipeline(urls, ours))
    n_ours, t_ours, b_ours = epoch(ours)
    print(f"{where}: webdataset {n_wds / t_wds:7.1f} samples/s {b_wds / size:.3f}x pack bytes | "
          f"llavamix {n_ours / t_ours:7.1f} samples/s {b_ours / size:.3f}x pack bytes | "
          f"speed ratio {(n_ours / t_ours) / (n_wds / t_wds):.2f}x ({n_ours} / {n_wds} samples)")  # fmt: skip


def s3_copy(pack: Path) -> str:
    import boto3
    import s3fs
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=f"http://{host}:{port}")  # fmt: skip
    boto3.client("s3").create_bucket(Bucket="bench")
    s3fs.S3FileSystem().put(f"{pack}/", "bench/pack/", recursive=True)
    return "s3://bench/pack/"


LOCAL = Path()


def main() -> None:
    global LOCAL
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    from tests.loader import tokenizers as toks

    from llavamix.foundation.formats.pack import read_manifest

    count_llavamix_reads()
    with tempfile.TemporaryDirectory() as tmp:
        LOCAL = make_pack(Path(tmp), 96 if args.small else 480)
        size = read_manifest(LOCAL).bytes
        (Path(tmp) / "spm").mkdir()
        tok = toks.llama_tokenizer(toks.train_sentencepiece(Path(tmp) / "spm"), legacy=True, max_length=4096)
        print(f"pack: {len(read_manifest(LOCAL).shards)} shards, {size / 1e6:.1f} MB; {WORKERS} workers")
        compare("local", str(LOCAL), size, tok)
        compare("s3   ", s3_copy(LOCAL), size, tok)


if __name__ == "__main__":
    main()
