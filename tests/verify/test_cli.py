"""The verify command: exit codes, the report file, the clean file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from llavamix.cli import EXIT_OK, EXIT_PARTIAL, cli
from tests.verify.conftest import record, write_mix


def test_clean_mix_exits_0(data_root: Path, tmp_path: Path) -> None:
    mix = write_mix(tmp_path / "mix.json", [record(rid=1), record(rid=2, image=None)])
    result = CliRunner().invoke(cli, ["verify", str(mix), "--root", str(data_root), "--deep"])
    assert result.exit_code == EXIT_OK, result.output
    assert "all 2 records ok" in result.output


def test_errors_exit_3_with_report_and_clean(data_root: Path, tmp_path: Path) -> None:
    mix = write_mix(tmp_path / "mix.json", [record(rid=1), record(rid=2, image="no.jpg"), {"id": 3}])
    args = [
        "verify",
        str(mix),
        "--root",
        str(data_root),
        "--report",
        str(tmp_path / "r.json"),
        "--write-clean",
        str(tmp_path / "clean.json"),
        "--jobs",
        "1",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == EXIT_PARTIAL, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["errors"] == {"missing": 1, "no_conversations": 1}
    assert [p["index"] for p in report["problems"]] == [1, 2]
    assert all(set(p) == {"index", "id", "code", "path", "detail"} for p in report["problems"])
    assert json.loads((tmp_path / "clean.json").read_text()) == [record(rid=1)]
    assert "missing" in result.output and "--write-clean" in result.output


def test_malformed_mix_exits_1(data_root: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("[{")
    result = CliRunner().invoke(cli, ["verify", str(tmp_path / "bad.json"), "--root", str(data_root)])
    assert result.exit_code == 1


def test_stats_json_and_table(data_root: Path, tmp_path: Path) -> None:
    mix = write_mix(tmp_path / "mix.json", [record(rid=1, image="ok/photo.jpg"), record(rid=2, image=None)])
    result = CliRunner().invoke(cli, ["stats", str(mix), "--root", str(data_root), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["records"] == 2 and data["with_image"] == 1 and data["image_sizes"]["readable"] == 1
    table = CliRunner().invoke(cli, ["stats", str(mix)])
    assert table.exit_code == 0 and "text-only" in table.output
