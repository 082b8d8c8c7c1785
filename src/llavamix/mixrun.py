"""``llavamix mix build`` end to end, the composition of three stages: inputs given by URL are fetched (the fetch
stage), the mix is built (the mix stage), then the new mix is verified under the recipe's output root (the
verify stage, its report beside the output) and, when asked, indexed for training (the index stage)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from llavamix import fetch, index, mix, verify
from llavamix.catalog import Source
from llavamix.foundation.layout import Layout
from llavamix.foundation.tasks import NULL_PROGRESS, Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MixRunOptions:
    """``index``: also write the training index there; ``verify``: verify the output (quick checks); ``jobs``:
    processes that read the inputs and verify; ``downloads``: where inputs given by URL land [default: OUT's
    folder/.llavamix/downloads]."""

    index: Path | None = None
    verify: bool = True
    jobs: int | None = None
    downloads: Path | None = None
    progress: Progress = field(default=NULL_PROGRESS, compare=False)


@dataclass(frozen=True)
class MixRunReport:
    build: mix.BuildReport
    verify: verify.VerifyReport | None = None
    verify_path: Path | None = None  # the verify report written beside the output
    index: index.IndexReport | None = None

    @property
    def ok(self) -> bool:
        """No record of the output would fail training (or it was not verified)."""
        return self.verify is None or self.verify.error_count == 0


def build(recipe_path: Path, out: Path, options: MixRunOptions | None = None) -> MixRunReport:
    """Build the mix the recipe at ``recipe_path`` describes into ``out``, then verify and index it."""
    options = options or MixRunOptions()
    recipe = mix.load_recipe(Path(recipe_path))  # every recipe error before any download or output
    local = _fetch_urls(recipe, Path(out), options)
    build = mix.BuildOptions(local=local, jobs=options.jobs, progress=options.progress)
    built = mix.build_mix(recipe, Path(out), build)
    checked, checked_path = _verify(built.out, recipe.output_root, options) if options.verify else (None, None)
    indexed = None
    if options.index is not None:
        indexed = index.build_index(built.out, options.index, index.IndexOptions(progress=options.progress))
    return MixRunReport(built, checked, checked_path, indexed)


def _fetch_urls(recipe: mix.LoadedRecipe, out: Path, options: MixRunOptions) -> dict[str, Path]:
    """Each input given by URL, downloaded (resumably, once: a rerun finds it) to the downloads folder."""
    layout = Layout(out.parent, options.downloads)
    fetch_options = fetch.FetchOptions(progress=options.progress)
    local = {}
    for item in recipe.recipe.input:
        if item.is_url:
            source = Source(name=item.name, url=item.path, into=".")
            local[item.name] = fetch.fetch_source(source, layout, fetch_options).path
    return local


def _verify(out: Path, root: Path, options: MixRunOptions) -> tuple[verify.VerifyReport, Path]:
    report = verify.verify_mix(out, root, verify.VerifyOptions(jobs=options.jobs, progress=options.progress))
    path = out.with_name(mix.sidecar_paths(out)[0].name.replace(".manifest.json", ".verify.json"))
    report.write_json(path)
    return report, path
