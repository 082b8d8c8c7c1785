"""``pack_mix``: plan shards, write the unfinished ones in parallel, then write the manifest last."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from llavamix.foundation.errors import PackError
from llavamix.foundation.formats.pack import (
    Manifest,
    ShardEntry,
    manifest_path,
    plan_path,
    read_plan,
    write_manifest,
    write_shard,
)
from llavamix.foundation.io import part_path
from llavamix.foundation.layout import Layout
from llavamix.foundation.records import MixFile
from llavamix.foundation.records.problem import Problem
from llavamix.foundation.tasks import Outcome, TaskReport, run_tasks
from llavamix.pack.options import PackOptions
from llavamix.pack.plan import plan_shards
from llavamix.pack.samples import shard_samples

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackReport:
    out_dir: Path
    format: str
    shards: list[ShardEntry]  # every shard of the pack, with its size once written
    written: list[str] = field(default_factory=list)  # shards written by this run
    reused: list[str] = field(default_factory=list)  # complete shards left from an earlier run
    failed: dict[str, BaseException] = field(default_factory=dict)  # shard -> what writing it raised
    problems: list[Problem] = field(default_factory=list)  # records left out (on_error="skip")
    manifest: Path | None = None  # None while some shard failed
    records: int = 0
    packed: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.problems

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.shards)

    @property
    def images(self) -> int:
        return sum(s.images for s in self.shards)


def pack_mix(mix: Path, root: Path, out_dir: Path, options: PackOptions | None = None) -> PackReport:
    """Pack ``mix`` (images read under the data root ``root``) into shards in ``out_dir``; safe to rerun.

    Raises PackError before writing anything when records cannot be packed and ``options.on_error`` is ``fail``.
    """
    options = options or PackOptions()
    started = time.perf_counter()
    mix, out_dir = Path(mix), Path(out_dir)
    records, layout = MixFile(mix), Layout(Path(root))
    name = options.name or mix.stem
    shards, problems = plan_shards(records, layout, name, options)
    if problems and options.on_error == "fail":
        raise PackError(_problems_message(mix, Path(root), problems))
    plan = Manifest(options.format, name, str(mix), mix.stat().st_size, len(records),
                    sum(s.records for s in shards), str(options.shard_size), shards, problems)  # fmt: skip
    _prepare(out_dir, plan)
    written = _write(records, layout, out_dir, plan, options)
    failed = written.failures
    shards = [_with_size(out_dir, s) for s in shards]
    manifest = None
    if not failed:
        manifest = manifest_path(out_dir, name)
        write_manifest(manifest, msgspec.structs.replace(plan, shards=shards))
    return PackReport(
        out_dir, options.format, shards,
        written=[o.key for o in written.done],
        reused=[o.key for o in written.skipped],
        failed=failed, problems=problems, manifest=manifest, records=len(records), packed=plan.packed,
        seconds=time.perf_counter() - started,
    )  # fmt: skip


def _with_size(out_dir: Path, shard: ShardEntry) -> ShardEntry:
    path = out_dir / shard.name
    return msgspec.structs.replace(shard, bytes=path.stat().st_size) if path.exists() else shard


def _write(records: MixFile, layout: Layout, out_dir: Path, plan: Manifest, options: PackOptions) -> TaskReport:
    sizes = {s.name: s.records for s in plan.shards}
    options.progress.start("pack", plan.packed, "records")

    def advance(outcome: Outcome) -> None:
        options.progress.advance("pack", sizes[outcome.key])

    try:
        report = run_tasks(
            plan.shards,
            lambda s: write_shard(plan.format, shard_samples(records, layout, s), out_dir / s.name),
            key=lambda s: s.name,
            jobs=options.jobs,
            is_done=lambda s: (out_dir / s.name).exists(),
            on_outcome=advance,
        )
    finally:
        options.progress.finish("pack")
    return report


def _prepare(out_dir: Path, plan: Manifest) -> None:
    """Make ``out_dir`` ready for ``plan``: no manifest until the end, no temporary left by a killed run, and no
    shard built from other content than the plan's (its digest in the previous plan differs, or is unknown).

    The plan is saved before any shard is written, so every shard file present afterwards matches it.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path(out_dir, plan.name).unlink(missing_ok=True)
    old = read_plan(plan_path(out_dir, plan.name))
    before = {s.name: s.digest for s in old.shards} if old is not None else {}
    now = {s.name: s.digest for s in plan.shards}
    for shard in before.keys() | now.keys():
        path = out_dir / shard
        part_path(path).unlink(missing_ok=True)
        if path.exists() and not (shard in now and before.get(shard) == now[shard]):
            log.info("removing %s: its records or images changed since it was written", path)
            path.unlink()
    write_manifest(plan_path(out_dir, plan.name), plan)


def _problems_message(mix: Path, root: Path, problems: list[Problem]) -> str:
    shown = "; ".join(_describe(p) for p in problems[:5])
    more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
    return (
        f"{mix}: {len(problems)} record(s) cannot be packed: {shown}{more}. Fix those records or their images (an "
        f"image must be a non-empty regular file inside {root}; `llavamix verify` explains each code), or run "
        f"`llavamix verify {mix} --root {root} --write-clean CLEAN.json` and pack CLEAN.json, or pack with "
        "--on-error skip to leave them out"
    )


def _describe(problem: Problem) -> str:
    path = f" {problem.path}" if problem.path else ""
    detail = f" ({problem.detail})" if problem.detail else ""
    return f"record {problem.index} (id {problem.id!r}): {problem.code}{path}{detail}"
