"""``--engine ray``: the same outputs as the local engine (verify report, clean JSON, stats, pack shards and
manifest), on the embedded sample and on a synthetic mix of 20k records; a worker that dies is retried; read_mix.

One local Ray instance (2 CPUs) serves the module: the commands run as real subprocesses joined to it with
``--ray-address``. A worker crash is armed through a marker file its path in ``LLAVAMIX_RAY_FAULT`` names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from llavamix.ray import read_mix  # noqa: E402 - only once ray is known to be there
from llavamix.ray.faults import FAULT_ENV  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from synthetic import make_mix  # noqa: E402

SAMPLE_MIX = "open-llava-next/open-llava-next_instruct_mix1M.json"


@dataclass(frozen=True)
class Cluster:
    address: str
    fault: Path  # create it to make the next Ray task's worker die once


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    fault = tmp_path_factory.mktemp("fault") / "armed"
    before = os.environ.get(FAULT_ENV)
    os.environ[FAULT_ENV] = str(fault)  # the workers Ray starts inherit it
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield Cluster(ray.get_runtime_context().gcs_address, fault)
    finally:
        ray.shutdown()
        os.environ.pop(FAULT_ENV)
        if before is not None:
            os.environ[FAULT_ENV] = before


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample") / "data"
    _llavamix("prepare", "--catalog", "sample", "--root", str(root))
    return root


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("synthetic")
    mix = make_mix(base / "mix.json", 20_000, image_root=base / "data", n_images=1_500)
    return mix, base / "data"


def _llavamix(*args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "llavamix", *args], capture_output=True, text=True, timeout=300)
    assert done.returncode in ok, done.stdout + done.stderr
    return done


def _outputs(mix: Path, root: Path, out: Path, *engine: str) -> dict[str, object]:
    """What verify, stats and pack write with the given engine options: JSON values and file bytes."""
    out.mkdir()
    verify = ["verify", str(mix), "--root", str(root), "--deep", "--no-cache", "--report", str(out / "report.json")]
    _llavamix(*verify, "--write-clean", str(out / "clean.json"), *engine, ok=(0, 3))
    stats = _llavamix("stats", str(mix), "--root", str(root), "--json", *engine).stdout
    pack = ["pack", str(mix), "--root", str(root), "--out", str(out / "pack"), "--shard-size", "2MB"]
    _llavamix(*pack, "--on-error", "skip", *engine, ok=(0, 3))
    shards = {p.name: p.read_bytes() for p in sorted((out / "pack").iterdir()) if not p.name.endswith(".json")}
    manifests = {p.name: json.loads(p.read_bytes()) for p in (out / "pack").glob("*.json")}
    report = json.loads((out / "report.json").read_bytes())
    return {"report": report, "clean": (out / "clean.json").read_bytes(), "stats": json.loads(stats),
            "shards": shards, "manifests": manifests}  # fmt: skip


def test_sample_outputs_equal_the_local_engine(cluster: Cluster, sample: Path, tmp_path: Path) -> None:
    mix = sample / SAMPLE_MIX
    local = _outputs(mix, sample, tmp_path / "local")
    on_ray = _outputs(mix, sample, tmp_path / "ray", "--engine", "ray", "--ray-address", cluster.address)
    assert local["shards"], "the pack wrote no shard"
    assert on_ray == local


def test_synthetic_mix_outputs_equal_the_local_engine(
    cluster: Cluster, synthetic: tuple[Path, Path], tmp_path: Path
) -> None:
    mix, root = synthetic
    local = _outputs(mix, root, tmp_path / "local")
    on_ray = _outputs(mix, root, tmp_path / "ray", "--engine", "ray", "--ray-address", cluster.address)
    assert local["report"]["records"] == 20_000  # type: ignore[index]
    assert len(local["shards"]) > 2  # type: ignore[arg-type]
    assert on_ray == local


def test_a_dead_worker_is_retried_and_the_outputs_do_not_change(cluster: Cluster, sample: Path, tmp_path: Path) -> None:
    mix = sample / SAMPLE_MIX
    local = _outputs(mix, sample, tmp_path / "local")
    cluster.fault.touch()
    on_ray = _outputs(mix, sample, tmp_path / "ray", "--engine", "ray", "--ray-address", cluster.address)
    assert not cluster.fault.exists(), "no Ray task ran"
    assert Path(f"{cluster.fault}.fired").exists()  # one worker died in a task, which Ray ran again
    assert on_ray == local


def test_ray_address_needs_engine_ray(sample: Path) -> None:
    done = _llavamix("stats", str(sample / SAMPLE_MIX), "--ray-address", "auto", ok=(2,))
    assert "--ray-address needs --engine ray" in done.stderr


def test_read_mix_gives_the_records_in_order(cluster: Cluster, sample: Path) -> None:
    mix = sample / SAMPLE_MIX
    expected = json.loads(mix.read_bytes())
    rows = sorted(read_mix(mix).take_all(), key=lambda r: r["index"])
    assert [json.loads(r["record"]) for r in rows] == expected
    assert [r["image"] for r in rows] == [rec.get("image") for rec in expected]


def test_read_mix_attaches_image_bytes(cluster: Cluster, sample: Path) -> None:
    rows = read_mix(sample / SAMPLE_MIX, images=True, root=sample).take_all()
    with_image = [r for r in rows if r["image"] is not None]
    assert with_image
    for row in with_image:
        assert row["image_bytes"] == (sample / row["image"]).read_bytes()
    assert all(r["image_bytes"] is None for r in rows if r["image"] is None)


def test_read_mix_with_images_needs_root(cluster: Cluster, sample: Path) -> None:
    with pytest.raises(Exception, match="needs root="):
        read_mix(sample / SAMPLE_MIX, images=True)


def test_the_work_is_cut_into_a_few_tasks_per_cpu() -> None:
    from llavamix.ray.engine import BLOCKS_PER_CPU, _blocks

    assert _blocks(1000, {"CPU": 2.0}) == 2 * BLOCKS_PER_CPU, "Ray's cost per task stays small beside the work"
    assert _blocks(3, {"CPU": 16.0}) == 3 and _blocks(0, {}) == 1
