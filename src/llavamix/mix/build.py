"""``build_mix``: a recipe's inputs into one new mix JSON, its manifest and its provenance sidecar.

Two passes over the inputs: the plan (``mix.plan``: two bytes a record), then the copy, each kept record's exact
bytes (its image path prefixed when its input says so) as many times as its select's draw gives. Memory is
bounded by the largest window of records and those two bytes a record, never by the inputs' size. The output and
the sidecar are written under temporary names and renamed together at the end; the manifest last.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.io import atomic_writer, same_file
from llavamix.foundation.tasks import CANCEL, NULL_PROGRESS, Progress
from llavamix.mix.add_path import with_prefix
from llavamix.mix.inputs import iter_raws
from llavamix.mix.manifest import BuildReport, provenance_line, sidecar_paths
from llavamix.mix.plan import BATCH, LEFT_OUT, Plan, make_plan
from llavamix.mix.recipe import LoadedRecipe
from llavamix.mix.sample import Draw

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildOptions:
    """``local``: the downloaded file of each input given by URL (by input name); ``jobs``: processes that
    describe the records in the first pass (None: every core)."""

    local: Mapping[str, Path] = field(default_factory=dict)
    jobs: int | None = None
    progress: Progress = field(default=NULL_PROGRESS, compare=False)


def build_mix(recipe: LoadedRecipe, out: Path, options: BuildOptions | None = None) -> BuildReport:
    """Build the recipe's mix at ``out`` (with ``.manifest.json`` and ``.provenance.jsonl`` beside it)."""
    options = options or BuildOptions()
    out = Path(out)
    _refuse_inputs_as_output(recipe, out, options.local)
    plan = make_plan(recipe, options.local, options.progress, options.jobs or os.cpu_count() or 1)
    manifest, provenance = sidecar_paths(out)
    report = BuildReport(
        out,
        manifest,
        provenance,
        recipe.sha256,
        recipe.recipe.seed,
        inputs=plan.inputs,
        selects=plan.selects,
        filtered=dict(plan.filtered),
        duplicates=dict(plan.duplicates),
        unreadable_images=plan.unreadable_images,
    )
    with contextlib.ExitStack() as stack:
        mix_fh = stack.enter_context(atomic_writer(out, "wb"))
        side_fh = stack.enter_context(atomic_writer(provenance, "wb"))
        report.records = _copy(plan, mix_fh, side_fh, options.progress)
    report.write_manifest()
    log.info("wrote %s: %d records", out, report.records)
    return report


def _refuse_inputs_as_output(recipe: LoadedRecipe, out: Path, local: Mapping[str, Path]) -> None:
    for item in recipe.recipe.input:
        path = local.get(item.name) or recipe.local(item.path)
        for written in (out, *sidecar_paths(out)):
            if same_file(written, path):
                raise ConfigError(f"output {written} is input {item.name!r}; write the new mix to another file")


def _copy(plan: Plan, mix_fh: IO[bytes], side_fh: IO[bytes], progress: Progress) -> int:
    """The second pass: every kept record's copies, in input order; returns how many were written."""
    selects = [*plan.recipe.recipe.select, None]
    draws = [
        Draw(plan.recipe.recipe.seed, s, q, c.after_dedup)
        for s, q, c in zip(selects, plan.quotas, plan.selects, strict=True)
    ]
    writer = _Writer(mix_fh, side_fh)
    mix_fh.write(b"[")
    for n, path in enumerate(plan.paths):
        before = writer.written
        _copy_input(plan, n, path, draws, writer, progress)
        plan.inputs[n].out = writer.written - before
    mix_fh.write(b"\n]\n")
    return writer.written


class _Writer:
    """Appends records to the output array and their lines to the provenance sidecar."""

    def __init__(self, mix_fh: IO[bytes], side_fh: IO[bytes]) -> None:
        self.mix_fh, self.side_fh, self.written = mix_fh, side_fh, 0

    def write(self, data: bytes, input_name: str, index: int) -> None:
        self.mix_fh.write(b",\n" if self.written else b"\n")
        self.mix_fh.write(data)
        self.side_fh.write(provenance_line(input_name, index))
        self.written += 1


def _copy_input(plan: Plan, n: int, path: Path, draws: list[Draw], writer: _Writer, progress: Progress) -> None:
    item, slots = plan.recipe.recipe.input[n], plan.slots[n]
    key = f"mix write {item.name}"
    progress.start(key, len(slots), "records")
    for i, raw in enumerate(iter_raws(path)):
        if i >= len(slots):
            raise ConfigError(f"input {path} changed while the mix was built (it has more records now); rerun")
        copies = 0 if slots[i] == LEFT_OUT else draws[slots[i]].copies()
        if copies:
            data = bytes(with_prefix(raw, item.image_prefix, again=True) if item.image_prefix else raw)
            for _ in range(copies):
                writer.write(data, item.name, i)
        if i % BATCH == BATCH - 1:
            progress.advance(key, BATCH)
            CANCEL.check()
    progress.finish(key)
