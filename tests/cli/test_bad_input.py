"""Bad input on every command: the contract's exit code, a message naming the thing and the fix, no traceback,
no input overwritten and no half-written file left behind."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from llavamix.cli import cli

CONV = [{"from": "human", "value": "<image>\nWhat is it?"}, {"from": "gpt", "value": "A square."}]
TEXT = [{"from": "human", "value": "Why?"}, {"from": "gpt", "value": "Because."}]
GOOD = [{"id": 1, "image": "img/a.png", "conversations": CONV}, {"id": "t", "conversations": TEXT}]
LATIN1 = '[{"id": "café", "conversations": [{"from": "human", "value": "é"}, {"from": "gpt", "value": "x"}]}]'
# record 2 holds a latin-1 byte; its offset in the file is what the errors must name
LATE_LATIN1 = (json.dumps(GOOD)[:-1] + ",\n " + LATIN1[1:]).encode("latin-1")
LATE_AT = LATE_LATIN1.index("é".encode("latin-1"))
LATE_SAYS = f"late_latin1.json: record 2 is not valid UTF-8 at byte {LATE_AT} "
# 100k levels of nesting: level 101 (the array is level 1) opens at byte 100
DEEP = b"[" * 100_000
DEEP_SAYS = "deep.json: JSON nests more than 100 levels deep at byte 100,"
# even root cannot create folders in sysfs, so this stands for an unwritable output place in every test run
UNWRITABLE = "/sys/llavamix-test"

needs_arrow = pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="needs the serve extra")
needs_sysfs = pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs a Linux sysfs")


@dataclass(frozen=True)
class Case:
    args: str  # command line, relative to the workspace
    code: int
    says: tuple[str, ...]  # fragments the output must contain
    absent: str | None = None  # a path that must not have been created


def case(args: str, code: int, *says: str, absent: str | None = None, marks: tuple = ()) -> object:
    return pytest.param(Case(args, code, says, absent), id=args, marks=marks)


CASES = [
    # catalogs (sources, status, prepare, fetch share the loader)
    case("sources --catalog nope.toml", 1, "nope.toml", "neither a built-in"),
    case("sources --catalog folder", 1, "is a folder", "catalog TOML file"),
    case("sources --catalog broken.toml", 1, "broken.toml: cannot read catalog"),
    case("sources --catalog unknown_key.toml", 1, "unknown field `bogus`", "allowed keys"),
    case("sources --catalog latin1.toml", 1, "not UTF-8", "save it as UTF-8"),
    case("sources --catalog empty.toml", 1, "no sources", "add [[source]] tables"),
    case("status --catalog nope.toml --root data", 1, "nope.toml"),
    case("prepare --catalog folder --root data", 1, "is a folder", absent="data"),
    # the data root
    case("sources --catalog sample --root a_file", 2, "'--root'", "is a file"),
    case("status --catalog sample --root a_file", 2, "'--root'", "is a file"),
    case("prepare --catalog sample --root a_file", 2, "'--root'", "is a file"),
    case("fetch --catalog sample --root a_file", 2, "'--root'", "is a file"),
    case("prepare --catalog sample --root data --downloads a_file", 2, "'--downloads'", "is a file", absent="data"),
    case("verify good.json --root a_file", 2, "'--root'", "is a file"),
    case("verify good.json --root no_such_dir", 2, "'--root'", "does not exist"),
    case("stats good.json --root no_such_dir", 2, "'--root'", "does not exist"),
    case("stats good.json --root a_file", 2, "'--root'", "is a file"),
    case("pack good.json --root no_such_dir --out shards", 2, "'--root'", "does not exist", absent="shards"),
    # source names and groups
    case(
        "prepare nosuch --catalog sample --root data", 1, "no source or group named 'nosuch'", "known:", absent="data"
    ),
    case("prepare finetune nosuch --catalog sample --root data", 1, "'nosuch'", absent="data"),
    case("fetch coco nosuch --catalog sample --root data", 1, "'nosuch'", absent="data"),
    # --jobs
    case("prepare --catalog sample --root data --jobs 0", 2, "'--jobs'", "x>=1", absent="data"),
    case("fetch --catalog sample --root data -j 0", 2, "'--jobs'", "x>=1", absent="data"),
    case("verify good.json --root data_root --jobs 0", 2, "'--jobs'"),
    case("stats good.json --jobs 0", 2, "'--jobs'"),
    case("index good.json --out g.idx --jobs 0", 2, "'--jobs'", absent="g.idx"),
    case("pack good.json --root data_root --out shards --jobs 0", 2, "'--jobs'", absent="shards"),
    # the mix JSON
    case("verify nope.json --root data_root", 2, "nope.json", "does not exist"),
    case("verify folder --root data_root", 2, "folder", "is a directory"),
    case("verify empty.json --root data_root", 1, "empty.json is empty (0 bytes)", "JSON array"),
    case("verify object.json --root data_root", 1, "not a JSON array", "got `object`"),
    case("verify truncated.json --root data_root", 1, "truncated.json", "download it again"),
    case("verify garbage.json --root data_root", 1, "malformed JSON at byte 10", "fix the file"),
    case("verify latin1.json --root data_root -j 1", 1, "record 0 is not valid UTF-8", "iconv"),
    case("verify latin1.json --root data_root -j 2", 1, "latin1.json: record 0 is not valid UTF-8", "iconv"),
    case("verify bom.json --root data_root", 1, "byte-order mark", "remove it"),
    case("stats empty.json", 1, "empty (0 bytes)"),
    case("stats object.json", 1, "not a JSON array"),
    case("stats truncated.json", 1, "download it again"),
    case("stats latin1.json", 1, "not valid UTF-8", "iconv"),
    case("stats late_latin1.json", 1, LATE_SAYS, "iconv"),
    case("verify late_latin1.json --root data_root", 1, LATE_SAYS, "iconv"),
    case("verify deep.json --root data_root -j 1", 1, DEEP_SAYS, "fix the file"),
    case("verify deep.json --root data_root -j 2", 1, DEEP_SAYS, "fix the file"),
    case("stats deep.json", 1, DEEP_SAYS),
    case("index deep.json -o d.idx -j 1", 1, DEEP_SAYS, absent="d.idx", marks=needs_arrow),
    case("index deep.json -o d.idx -j 2", 1, DEEP_SAYS, absent="d.idx", marks=needs_arrow),
    case("index late_latin1.json -o l.idx -j 2", 1, LATE_SAYS, absent="l.idx", marks=needs_arrow),
    case("pack deep.json --root data_root --out shards", 1, DEEP_SAYS, absent="shards", marks=needs_arrow),
    case("pack late_latin1.json --root data_root --out shards", 1, LATE_SAYS, absent="shards", marks=needs_arrow),
    case("index empty.json --out e.idx", 1, "empty (0 bytes)", absent="e.idx", marks=needs_arrow),
    case("index object.json --out o.idx", 1, "not a JSON array", absent="o.idx", marks=needs_arrow),
    case("index truncated.json -o t.idx -j 1", 1, "download it again", absent="t.idx", marks=needs_arrow),
    case("index latin1.json -o l.idx -j 1", 1, "not valid UTF-8", absent="l.idx", marks=needs_arrow),
    case("index numbers.json -o n.idx -j 1", 1, "record 0 cannot be indexed", "--write-clean", marks=needs_arrow),
    case("pack empty.json --root data_root --out shards", 1, "empty (0 bytes)", absent="shards", marks=needs_arrow),
    case("pack latin1.json --root data_root --out shards", 1, "not valid UTF-8", absent="shards", marks=needs_arrow),
    case("pack good.json --root empty_root --out shards", 1, "cannot be packed", "--on-error skip", marks=needs_arrow),
    # outputs that name the input: refused before any work
    case("verify good.json --root data_root --write-clean good.json", 2, "'--write-clean'", "is the mix itself"),
    case("verify good.json --root data_root --write-clean ../ws/good.json", 2, "is the mix itself"),
    case("verify good.json --root data_root --report good.json", 2, "'--report'", "is the mix itself"),
    case("verify good.json --root data_root --html good.json", 2, "'--html'", "is the mix itself"),
    case("verify good.json --root data_root --report folder", 2, "'--report'", "is a directory"),
    case("stats good.json --html ./good.json", 2, "'--html'", "is the mix itself"),
    case("index good.json --out good.json", 2, "'--out'", "is the mix itself", marks=needs_arrow),
    case("index good.json --out folder", 2, "'--out'", "is a directory", marks=needs_arrow),
    case("pack good.json --root data_root --out a_file", 2, "'--out'", "is a file", marks=needs_arrow),
    # outputs in places that cannot be written
    case(f"verify good.json --root data_root -j 1 --report {UNWRITABLE}/r.json", 1, UNWRITABLE, marks=needs_sysfs),
    case(f"stats good.json --html {UNWRITABLE}/s.html", 1, UNWRITABLE, "writable", marks=needs_sysfs),
    case(f"index good.json -j 1 --out {UNWRITABLE}/g.idx", 1, UNWRITABLE, marks=(needs_sysfs, needs_arrow)),
    case(f"pack good.json --root data_root --out {UNWRITABLE}", 1, UNWRITABLE, marks=(needs_sysfs, needs_arrow)),
    # pack options
    case("pack good.json --root data_root --out shards --shard-size abc", 2, "'--shard-size'", "like 1GB"),
    case("pack good.json --root data_root --out shards --shard-size 0", 2, "'--shard-size'", "must be positive"),
    case("pack good.json --root data_root --out shards --shard-size -5", 2, "'--shard-size'", "record count"),
    case("pack good.json --root data_root --out shards --shard-size 0GB", 2, "must be positive", absent="shards"),
    case("pack good.json --root data_root --out shards --name a/b", 1, "plain file name", absent="shards"),
]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of good and bad inputs; the tests run inside it so that arguments stay short."""
    ws = tmp_path / "ws"
    (ws / "data_root" / "img").mkdir(parents=True)
    Image.new("RGB", (8, 8), (200, 10, 10)).save(ws / "data_root" / "img" / "a.png")
    (ws / "empty_root").mkdir()
    (ws / "folder").mkdir()
    files = {
        "good.json": json.dumps(GOOD),
        "empty.json": "",
        "object.json": '{"records": []}',
        "truncated.json": json.dumps(GOOD)[:-20],
        "garbage.json": '[{"id": 1,, "conversations": []}]',
        "numbers.json": "[1, 2]",
        "a_file": "not a folder",
        "broken.toml": "[[source]\nname =",
        "unknown_key.toml": '[[source]]\nname = "x"\nurl = "file:x"\ninto = "x"\nbogus = 1\n',
        "empty.toml": "",
    }
    for name, text in files.items():
        (ws / name).write_text(text, encoding="utf-8")
    (ws / "latin1.json").write_bytes(LATIN1.encode("latin-1"))
    (ws / "late_latin1.json").write_bytes(LATE_LATIN1)
    (ws / "deep.json").write_bytes(DEEP)
    (ws / "latin1.toml").write_bytes('[[source]]\nname = "café"\n'.encode("latin-1"))
    (ws / "bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode())
    monkeypatch.chdir(ws)
    return ws


def snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("bad", CASES)
def test_bad_input(bad: Case, workspace: Path) -> None:
    before = snapshot(workspace)
    result = CliRunner().invoke(cli, shlex.split(bad.args))
    output = " ".join(result.output.split())  # rich wraps long lines
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output
    assert result.exit_code == bad.code, output
    for fragment in bad.says:
        assert fragment in output
    if bad.code == 1:
        assert "error:" in output
    assert {p: snapshot(workspace).get(p) for p in before} == before, "an input was changed"
    assert not list(workspace.parent.rglob("*.part")), "a half-written file was left behind"
    if bad.absent is not None:
        assert not (workspace / bad.absent).exists()


def run_llavamix(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "llavamix", *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "COLUMNS": "300"}
    )


@pytest.mark.parametrize(
    "args",
    [
        "stats good.json --html a_file/s.html",
        "verify good.json --root data_root -j 1 --report a_file/r.json",
        pytest.param("index good.json -j 1 --out a_file/g.idx", marks=needs_arrow),
        pytest.param("pack good.json --root data_root --out a_file/shards", marks=needs_arrow),
    ],
)
def test_output_folder_that_is_a_file(args: str, workspace: Path) -> None:
    """A regular file where the output's folder should be: unwritable even for root, which CI runs as."""
    before = snapshot(workspace)
    proc = run_llavamix(*shlex.split(args))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "a_file" in proc.stderr and "writable" in proc.stderr
    assert snapshot(workspace) == before
    assert not list(workspace.parent.rglob("*.part"))


MIX_CATALOG = """[[source]]
name = "mix1m"
title = "a mix that nests too deeply"
url = "file:deep_src/open-llava-next_instruct_mix1M.json"
archive = "none"
into = "open-llava-next"
kind = "mix_json"
"""


@pytest.mark.parametrize(
    "args",
    [
        "verify deep.json --root data_root",
        "stats deep.json",
        pytest.param("index deep.json --out d.idx", marks=needs_arrow),
        pytest.param("pack deep.json --root data_root --out shards", marks=needs_arrow),
        "prepare --catalog deep.toml --root fresh_root",
    ],
)
def test_deep_nesting_is_one_error_line_in_a_real_process(args: str, workspace: Path) -> None:
    """100k levels of nesting: the interpreter's stack runs out inside msgspec; every command, prepare's verify
    included, says so in one line with the byte offset instead of a RecursionError traceback."""
    (workspace / "deep_src").mkdir()
    (workspace / "deep_src" / "open-llava-next_instruct_mix1M.json").write_bytes(DEEP)
    (workspace / "deep.toml").write_text(MIX_CATALOG, encoding="utf-8")
    proc = run_llavamix(*shlex.split(args))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "JSON nests more than 100 levels deep at byte 100," in proc.stderr
    assert not (workspace / "d.idx").exists() and not (workspace / "shards").exists()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param("index late_latin1.json --out l.idx --jobs 2", marks=needs_arrow),
        "verify late_latin1.json --root data_root --jobs 2",
        "stats late_latin1.json",
        pytest.param("pack late_latin1.json --root data_root --out l.shards --jobs 2", marks=needs_arrow),
    ],
)
def test_real_process_prints_one_error_line(args: str, workspace: Path) -> None:
    """A real process whose worker processes meet the error: one unwrapped line on stderr (no warnings from the
    workers), nothing on stdout, no output left behind."""
    proc = run_llavamix(*shlex.split(args))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"error: {LATE_SAYS}")
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert not (workspace / "l.idx").exists() and not (workspace / "l.shards").exists()
