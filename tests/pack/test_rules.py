"""Pack applies verify's rules: it leaves out (``--on-error skip``) or refuses (``fail``) exactly the records a quick
verify gives an error, each with the problem verify reports (index, id, code, path, detail); records with only
warnings are packed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llavamix.foundation.errors import PackError
from llavamix.foundation.formats.pack import FORMATS, iter_shard, read_manifest, shard_paths
from llavamix.foundation.records.reasons import RECORD_ERRORS
from llavamix.pack import PackOptions, ShardSize, pack_mix, run
from llavamix.verify import verify_mix
from tests.mixdata import records, write_mix

pytest.importorskip("pyarrow")

COCO = "coco/train2017/000000000001.jpg"


def _turns(*pairs: tuple[str, Any]) -> list[dict[str, Any]]:
    return [{"from": role, "value": value} for role, value in pairs]


ASK = ("human", "<image>\nWhat is it?")
ANSWER = ("gpt", "A square.")
# records 8.. of the test mix, after the 8 clean ones of tests.mixdata: each has the error its id names
WITH_ERRORS: list[Any] = [
    [1, 2],  # not_object: no id to name
    {"id": "image_null", "image": None, "conversations": _turns(ASK, ANSWER)},
    {"id": "image_not_str", "image": 5, "conversations": _turns(ASK, ANSWER)},
    {"id": "no_conversations", "image": COCO},
    {"id": "bad_role", "image": COCO, "conversations": _turns(("user", ASK[1]), ANSWER)},
    {"id": "not_alternating", "image": COCO, "conversations": _turns(ASK, ("human", "And?"), ANSWER)},
    {"id": "empty_text", "image": COCO, "conversations": _turns(ASK, ("gpt", " "))},
    {"id": "image_token_count", "image": COCO, "conversations": _turns(("human", "What is it?"), ANSWER)},
    {"id": "missing", "image": "coco/train2017/gone.jpg", "conversations": _turns(ASK, ANSWER)},
    {"id": "empty_file", "image": "coco/empty.jpg", "conversations": _turns(ASK, ANSWER)},
    {"id": "outside_root", "image": "coco/../../etc/passwd", "conversations": _turns(ASK, ANSWER)},
]
WITH_WARNINGS: list[Any] = [
    {"id": "first_turn_not_human", "image": COCO, "conversations": _turns(("gpt", "Hi."), ASK, ANSWER)},
    {"id": 2327515, "image": COCO, "conversations": _turns(ASK, ANSWER)},  # duplicate_id (record 1's)
    {"id": 1.5, "image": COCO, "conversations": _turns(ASK, ANSWER)},  # verify's rules do not judge ids
]


def _mix(tmp_path: Path, root: Path) -> Path:
    (root / "coco/empty.jpg").write_bytes(b"")
    return write_mix(tmp_path / "m.json", [*records(), *WITH_ERRORS, *WITH_WARNINGS])


def _llavamix(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300"}  # one line per message, whatever the terminal
    return subprocess.run([sys.executable, "-m", "llavamix", *args], capture_output=True, text=True, env=env)


def _errors(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in report["problems"] if p["code"] in report["errors"]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_skip_leaves_out_exactly_what_verify_calls_an_error(fmt: str, root: Path, tmp_path: Path) -> None:
    mix, out = _mix(tmp_path, root), tmp_path / "out"
    verified = _llavamix("verify", str(mix), "--root", str(root), "--report", str(tmp_path / "r.json"))
    assert verified.returncode == 3, verified.stderr
    packed = _llavamix("pack", str(mix), "--root", str(root), "--out", str(out), "--format", fmt, "--shard-size", "4",
                       "--on-error", "skip")  # fmt: skip
    assert packed.returncode == 3, packed.stderr
    assert "left out record 11 (id 'no_conversations'): no_conversations" in packed.stderr

    report = json.loads((tmp_path / "r.json").read_text())
    errors = _errors(report)
    assert [p["code"] for p in errors] == ["not_object", *(r["id"] for r in WITH_ERRORS[1:])]
    assert set(RECORD_ERRORS) <= set(report["errors"])  # every record rule is exercised
    assert [p.to_json() for p in read_manifest(out).skipped] == errors
    bad = {p["index"] for p in errors}
    packed_indices = [s.index for path in shard_paths(out) for s in iter_shard(path)]
    assert packed_indices == [i for i in range(report["records"]) if i not in bad]
    assert set(report["warnings"]) == {"first_turn_not_human", "duplicate_id"}  # packed all the same


def test_fail_refuses_what_verify_calls_an_error_before_writing(root: Path, tmp_path: Path) -> None:
    mix, out = _mix(tmp_path, root), tmp_path / "out"
    result = _llavamix("pack", str(mix), "--root", str(root), "--out", str(out))
    assert result.returncode == 1, result.stderr
    said = " ".join(result.stderr.split())
    assert f"{len(WITH_ERRORS)} record(s) cannot be packed: record 8 (id None): not_object (record is an array" in said
    assert "record 12 (id 'bad_role'): bad_role (turn 0 is from 'user'" in said
    assert f"and {len(WITH_ERRORS) - 5} more. Fix those records or their images" in said
    assert not out.exists()


def test_pack_problems_are_verify_problems(root: Path, tmp_path: Path) -> None:
    mix = _mix(tmp_path, root)
    verified = verify_mix(mix, root)
    left_out = pack_mix(mix, root, tmp_path / "out", PackOptions(on_error="skip")).problems
    assert left_out == [p for p in verified.problems if p.is_error]
    assert [p.code for p in left_out][4:6] == ["bad_role", "not_alternating"]


def test_record_given_an_error_after_the_plan_fails_its_shard(
    mix: Path, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_plan = run.plan_shards
    edited = records()
    # record 4 given a bad_role by an edit of the same length, so the planned byte ranges still hold
    edited[4]["conversations"] = _turns(("human", "<image>\nWhat is it?"), ("bot", "A red  square."))

    def plan_then_edit(*args: Any) -> Any:
        planned = real_plan(*args)
        write_mix(mix, edited)  # after the plan, before any shard is written
        return planned

    monkeypatch.setattr(run, "plan_shards", plan_then_edit)
    report = pack_mix(mix, root, tmp_path / "out", PackOptions(shard_size=ShardSize.parse("3")))
    assert sorted(report.failed) == ["mix-000001.tar"] and report.manifest is None
    assert isinstance(report.failed["mix-000001.tar"], PackError)
    said = str(report.failed["mix-000001.tar"])
    assert said.startswith(f"mix-000001.tar: record 4 of {mix} changed while the pack ran")
    assert "now has an error (bad_role: turn 1 is from 'bot'" in said
