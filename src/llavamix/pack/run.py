"""``pack_mix``: plan shards, write the unfinished ones in parallel, then write the manifest last."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from llavamix.foundation.errors import PackError
from llavamix.foundation.formats.pack import Manifest, ShardEntry, manifest_name, plan_name
from llavamix.foundation.io import part_path
from llavamix.foundation.layout import Layout
from llavamix.foundation.records import MixFile
from llavamix.foundation.records.problem import Problem
from llavamix.foundation.storage import Target, local_input
from llavamix.foundation.tasks import Outcome, TaskReport, run_tasks
from llavamix.pack.folder import PackFolder, open_folder
from llavamix.pack.options import PackOptions
from llavamix.pack.plan import plan_shards
from llavamix.pack.writer import ShardWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackReport:
    out_dir: Target
    format: str
    shards: list[ShardEntry]  # every shard of the pack, with its size once written
    written: list[str] = field(default_factory=list)  # shards written by this run
    reused: list[str] = field(default_factory=list)  # complete shards left from an earlier run
    failed: dict[str, BaseException] = field(default_factory=dict)  # shard -> what writing it raised
    problems: list[Problem] = field(default_factory=list)  # records left out (on_error="skip")
    manifest: Target | None = None  # None while some shard failed
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


def pack_mix(mix: Target, root: Path, out_dir: Target, options: PackOptions | None = None) -> PackReport:
    """Pack ``mix`` (images read under the data root ``root``) into shards in ``out_dir``; safe to rerun. ``mix``
    and ``out_dir`` may be URLs (``s3://bucket/prefix``); the images stay under a local ``root``.

    Raises PackError before writing anything when records cannot be packed and ``options.on_error`` is ``fail``.
    """
    options = options or PackOptions()
    folder = open_folder(out_dir, options.storage_options)
    with local_input(mix, options.storage_options) as local:
        return _pack(_Job(local, str(mix), Layout(Path(root)), out_dir, folder), options)


@dataclass(frozen=True)
class _Job:
    mix: Path  # a local file holding the mix
    mix_name: str  # the mix as given (a path or a URL), as the manifest records it
    layout: Layout
    out_dir: Target
    folder: PackFolder


def _pack(job: _Job, options: PackOptions) -> PackReport:
    started = time.perf_counter()
    records = MixFile(job.mix)
    name = options.name or job.mix.stem
    shards, problems = plan_shards(records, job.layout, name, options)
    if problems and options.on_error == "fail":
        raise PackError(_problems_message(job.mix_name, job.layout.root, problems))
    plan = Manifest(options.format, name, job.mix_name, job.mix.stat().st_size, len(records),
                    sum(s.records for s in shards), str(options.shard_size), shards, problems)  # fmt: skip
    plan = _prepare(job.folder, plan)
    written = _write(records, job, plan, options)
    present = job.folder.sizes()
    shards = [_sized(s, present) for s in shards]
    manifest = None
    if not written.failures:
        manifest = job.folder.write_marker(manifest_name(name), msgspec.structs.replace(plan, shards=shards))
    return PackReport(
        job.out_dir, options.format, shards,
        written=[o.key for o in written.done],
        reused=[o.key for o in written.skipped],
        failed=written.failures, problems=problems, manifest=manifest, records=len(records), packed=plan.packed,
        seconds=time.perf_counter() - started,
    )  # fmt: skip


def _sized(shard: ShardEntry, present: dict[str, int]) -> ShardEntry:
    return msgspec.structs.replace(shard, bytes=present[shard.name]) if shard.name in present else shard


def _write(records: MixFile, job: _Job, plan: Manifest, options: PackOptions) -> TaskReport:
    sizes = {s.name: s.records for s in plan.shards}
    present = job.folder.sizes()  # one listing, not one request per shard
    options.progress.start("pack", plan.packed, "records")

    def advance(outcome: Outcome) -> None:
        options.progress.advance("pack", sizes[outcome.key])

    try:
        report = run_tasks(
            plan.shards,
            ShardWriter(plan.format, records, job.layout, job.folder),
            key=lambda s: s.name,
            jobs=options.jobs,
            is_done=lambda s: s.name in present,
            on_outcome=advance,
        )
    finally:
        options.progress.finish("pack")
    return report


def _prepare(folder: PackFolder, plan: Manifest) -> Manifest:
    """Make ``folder`` ready for ``plan``: no manifest until the end, no temporary left by a killed run, and no
    shard built from other content than the plan's (its digest in the previous plan differs, or is unknown) or
    of another size than the previous run recorded. Returns the plan with the sizes of the shards kept.

    The plan is saved before any shard is written, so every shard file present afterwards matches it.
    """
    recorded = _recorded(folder, plan.name)
    folder.remove(manifest_name(plan.name))
    present = folder.sizes()
    shards = []
    for shard in plan.shards:
        old = recorded.get(shard.name)
        keep = old is not None and old.digest == shard.digest and old.bytes in (0, present.get(shard.name))
        shards.append(msgspec.structs.replace(shard, bytes=old.bytes) if keep and old else shard)
        if shard.name in present and not keep:
            log.info("removing %s: its records or images changed since it was written", shard.name)
        if not keep and {shard.name, part_path(Path(shard.name)).name} & present.keys():
            folder.remove(shard.name)
    for stale in recorded.keys() - {s.name for s in plan.shards}:
        folder.remove(stale)
    plan = msgspec.structs.replace(plan, shards=shards)
    folder.write_marker(plan_name(plan.name), plan)
    return plan


def _recorded(folder: PackFolder, name: str) -> dict[str, ShardEntry]:
    """The shards an earlier run planned, with the sizes its plan or manifest recorded (0: not known)."""
    entries: dict[str, ShardEntry] = {}
    for marker in (plan_name(name), manifest_name(name)):  # the manifest, written later, knows every size
        old = folder.read_marker(marker, Manifest)
        if old is not None and old.name == name:
            entries.update({s.name: s for s in old.shards})
    return entries


def _problems_message(mix: str, root: Path, problems: list[Problem]) -> str:
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
