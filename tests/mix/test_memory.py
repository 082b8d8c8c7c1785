"""The builder streams: building from a large input needs far less memory than the input's size."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

RECORDS = 300_000

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    def peak_kb():  # VmHWM: this process's peak RSS (ru_maxrss would keep the forking parent's)
        lines = Path('/proc/self/status').read_text().splitlines()
        return next(int(l.split()[1]) for l in lines if l.startswith('VmHWM'))
    from llavamix.mix import build_mix, load_recipe
    report = build_mix(load_recipe(Path(sys.argv[1])), Path(sys.argv[2]))
    print(report.records, peak_kb())
    """
)


def write_large(path: Path) -> None:
    """``RECORDS`` records of about 1 KB each (300 MB), written in pieces."""
    answer = "word " * 190
    with path.open("w") as fh:
        fh.write("[")
        for i in range(RECORDS):
            rec = {
                "id": i,
                "image": f"coco/{i % 1000}.jpg",
                "conversations": [
                    {"from": "human", "value": f"<image>\\nquestion {i}"},
                    {"from": "gpt", "value": answer + str(i)},
                ],
            }
            fh.write(("," if i else "") + json.dumps(rec))
        fh.write("]")


@pytest.mark.slow
def test_memory_stays_well_below_the_input_size(tmp_path: Path) -> None:
    write_large(tmp_path / "big.json")
    size = (tmp_path / "big.json").stat().st_size
    (tmp_path / "r.toml").write_text(
        '[[input]]\nname = "big"\npath = "big.json"\n[[select]]\nid_pattern = "\\\\d*7"\naction = "drop"\n'
        '[dedup]\nby = ["id", "text"]\n'
    )
    baseline = subprocess.run(
        [
            sys.executable,
            "-c",
            "import llavamix.mix.build; from pathlib import Path; print(next(int(l.split()[1]) for l in "
            "Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "r.toml"), str(tmp_path / "new.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    records, peak_kb = map(int, done.stdout.split())
    assert records == RECORDS * 9 // 10
    grown = (peak_kb - int(baseline.stdout)) * 1024
    assert grown < size / 3, f"grew {grown / 2**20:.0f} MiB for a {size / 2**20:.0f} MiB input"
