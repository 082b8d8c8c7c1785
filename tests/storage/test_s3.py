"""Object storage through fsspec, against a real S3-compatible server on loopback (moto) reached by the real
s3fs/botocore client: pack, verify and index read and write ``s3://`` URLs as they do local paths."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.storage import filesystem, local_output
from llavamix.index import build_index
from llavamix.pack import PackOptions, ShardSize, pack_mix
from llavamix.verify import VerifyOptions, verify_mix
from tests.s3server import S3

moto_app = pytest.importorskip("moto.moto_server.werkzeug_app")
WSGI = Callable[[dict[str, Any], Callable[..., Any]], Iterator[bytes]]


def _bucket(s3: S3) -> Any:
    fs, _ = filesystem(s3.url(""))
    fs.invalidate_cache()
    return fs


def _objects(s3: S3, prefix: str) -> dict[str, bytes]:
    fs = _bucket(s3)
    return {k.rsplit("/", 1)[-1]: fs.cat_file(k) for k in fs.find(f"{s3.bucket}/{prefix}")}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llavamix", *args], capture_output=True, text=True, timeout=300)


class Gate:
    """Wraps the S3 server: counts PUTs per object name, and holds the PUT of ``held`` until ``release``, then
    fails it (the client is gone by then), so a subprocess can be killed mid-pack at a known point."""

    def __init__(self, held: str) -> None:
        self.held, self.puts = held, []
        self.reached, self.release = threading.Event(), threading.Event()

    def wrap(self, call: WSGI) -> WSGI:
        def gated(app: Any, environ: dict[str, Any], start: Callable[..., Any]) -> Iterator[bytes]:
            name = environ.get("PATH_INFO", "").rsplit("/", 1)[-1]
            if environ["REQUEST_METHOD"] == "PUT" and self.held and name == self.held:
                self.reached.set()
                self.release.wait(120)
                start("500 Internal Server Error", [("Content-Length", "0")])
                return iter([b""])
            if environ["REQUEST_METHOD"] == "PUT" and name:
                self.puts.append(name)
            return call(app, environ, start)

        return gated  # type: ignore[return-value]


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    gate = Gate("")
    app = moto_app.DomainDispatcherApplication
    monkeypatch.setattr(app, "__call__", gate.wrap(app.__call__))
    return gate


def test_pack_to_s3_equals_the_local_pack(s3: S3, mix: Path, root: Path, tmp_path: Path) -> None:
    options = PackOptions(shard_size=ShardSize.parse("2"))
    local = pack_mix(mix, root, tmp_path / "local", options)
    remote = pack_mix(mix, root, s3.url("packs/mix"), options)
    assert remote.manifest == s3.url("packs/mix/mix.manifest.json")
    assert [s.bytes for s in remote.shards] == [s.bytes for s in local.shards]
    assert _objects(s3, "packs/mix") == _files(tmp_path / "local")
    rerun = pack_mix(mix, root, s3.url("packs/mix"), options)
    assert rerun.written == [] and rerun.reused == [s.name for s in local.shards]


def test_kill_mid_pack_to_s3_then_rerun_rewrites_only_the_missing_shards(
    s3: S3, gate: Gate, mix: Path, root: Path, tmp_path: Path
) -> None:
    local = pack_mix(mix, root, tmp_path / "local", PackOptions(shard_size=ShardSize.parse("1")))
    names = [s.name for s in local.shards]
    gate.held = names[2]
    args = ["pack", str(mix), "--root", str(root), "--out", s3.url("run"), "--shard-size", "1", "--jobs", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "llavamix", *args], stdout=subprocess.DEVNULL)
    try:
        assert gate.reached.wait(120), "the pack never reached its third shard"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
    finally:
        gate.release.set()
    left = _objects(s3, "run")
    assert sorted(left) == sorted([*names[:2], "mix.plan.json"])  # no partial shard, no manifest
    gate.held, gate.puts[:] = "", []
    result = _cli(*args)
    assert result.returncode == 0, result.stderr
    assert sorted(gate.puts) == sorted([*names[2:], "mix.plan.json", "mix.manifest.json"])
    assert _objects(s3, "run") == _files(tmp_path / "local")


def test_a_wrong_size_shard_in_the_bucket_is_rewritten(s3: S3, mix: Path, root: Path) -> None:
    options = PackOptions(shard_size=ShardSize.parse("2"))
    first = pack_mix(mix, root, s3.url("p"), options)
    fs = _bucket(s3)
    fs.pipe_file(f"{s3.bucket}/p/{first.shards[1].name}", b"truncated")
    again = pack_mix(mix, root, s3.url("p"), options)
    assert again.written == [first.shards[1].name]
    assert fs.cat_file(f"{s3.bucket}/p/{first.shards[1].name}") != b"truncated"


def test_verify_and_index_of_a_mix_in_the_bucket(s3: S3, mix: Path, root: Path, tmp_path: Path) -> None:
    fs = _bucket(s3)
    fs.put_file(str(mix), f"{s3.bucket}/mixes/mix.json")
    url = s3.url("mixes/mix.json")
    local = _cli("verify", str(mix), "--root", str(root), "--report", str(tmp_path / "local.json"),
                 "--write-clean", str(tmp_path / "clean.json"))  # fmt: skip
    remote = _cli("verify", url, "--root", str(root), "--report", s3.url("out/report.json"),
                  "--write-clean", s3.url("out/clean.json"), "--html", s3.url("out/report.html"))  # fmt: skip
    assert remote.returncode == local.returncode, remote.stderr
    out = _objects(s3, "out")
    assert json.loads(out["report.json"]) == json.loads((tmp_path / "local.json").read_bytes())
    assert out["clean.json"] == (tmp_path / "clean.json").read_bytes()
    assert out["report.html"].startswith(b"<!doctype html>")
    build_index(mix, tmp_path / "mix.idx")
    report = build_index(url, s3.url("out/mix.idx"))
    assert report.path == s3.url("out/mix.idx")
    assert fs.cat_file(f"{s3.bucket}/out/mix.idx") == (tmp_path / "mix.idx").read_bytes()


def test_a_failed_write_leaves_no_object(s3: S3, mix: Path, root: Path) -> None:
    with pytest.raises(ConfigError, match="is the mix itself"):
        build_index(s3.url("m.json"), s3.url("m.json"))
    report = verify_mix(mix, root, VerifyOptions(jobs=1))
    with pytest.raises(ZeroDivisionError, match="spool"), local_output(s3.url("partial.json")) as spool:
        spool.write_bytes(b"half")
        raise ZeroDivisionError("spool written, upload never reached")
    assert _objects(s3, "") == {}
    report.write_json(s3.url("whole.json"))
    assert list(_objects(s3, "")) == ["whole.json"]


def test_clear_errors_for_bad_urls_and_options(s3: S3, mix: Path, root: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bucket 'nobucket' not found; create it"):
        pack_mix(mix, root, "s3://nobucket/p")
    with pytest.raises(ConfigError, match="no such object; check the URL"):
        verify_mix(s3.url("absent.json"), root)
    with pytest.raises(ConfigError, match=r"nosuchscheme://x/m\.json: .*check the URL and the storage options"):
        verify_mix("nosuchscheme://x/m.json", root)
    _bucket(s3).pipe_file(f"{s3.bucket}/p/file", b"x")
    with pytest.raises(ConfigError, match=r"is an object, not a folder prefix"):
        pack_mix(mix, root, s3.url("p/file"))
    result = _cli("index", str(mix), "--out", s3.url("x.idx"), "--storage-option", "novalue")
    assert result.returncode == 2 and "storage option 'novalue' is not KEY=VALUE" in result.stderr
    result = _cli("index", str(mix), "--out", s3.url("p"), "--storage-option", "anon=false")
    assert result.returncode == 1 and "is a folder prefix; pass the URL of the file" in result.stderr


def test_a_missing_extra_names_it(root: Path) -> None:
    blocked = "import runpy, sys; sys.modules['s3fs'] = None; runpy.run_module('llavamix', run_name='__main__')"
    args = [sys.executable, "-c", blocked, "verify", "s3://bucket/mix.json", "--root", str(root)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)  # as if llavamix[s3] were missing
    assert result.returncode == 1
    assert "s3fs is needed here but is not installed: pip install 'llavamix[s3]'" in " ".join(result.stderr.split())
