"""``write_html``: the verify report as one self-contained page (inline CSS, plots and thumbnails as data URIs)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from PIL import Image

from llavamix.foundation.htmlpage import Draw, bars, figures, hist, sizes_scatter, table, write_page
from llavamix.foundation.records.anyres import visual_tokens
from llavamix.foundation.records.problem import Problem
from llavamix.foundation.records.reasons import REASONS
from llavamix.foundation.storage import StorageOptions, Target, check_output, local_output
from llavamix.verify.report import VerifyReport

MAX_PROBLEMS = 500  # rows in the problems table; the JSON report has them all
MAX_THUMBNAILS = 100


def write_html(report: VerifyReport, out: Target, storage_options: StorageOptions | None = None) -> None:
    """Write ``report`` as one HTML page at ``out`` (needs the ``report`` extra for the plots)."""
    sections = [_summary(report), _sources(report), _problems(report), _plots(report)]
    check_output(out, storage_options)
    with local_output(out, storage_options) as local:
        write_page(local, f"llavamix verify: {Path(report.mix).name}", "".join(sections))


def _summary(report: VerifyReport) -> str:
    verdict = "ok" if not report.error_count else "error"
    rows = [
        ("records", f"{report.records:,}"),
        ("images", f"{report.images:,}"),
        ("ok", f"{report.ok:,}"),
        ("with an error", f"<span class='{verdict}'>{report.error_count:,}</span>"),
        ("image check", "deep (full decode)" if report.deep else "existence only"),
    ]
    codes = [(f"<span class='error'>{c}</span>", n, html.escape(REASONS[c])) for c, n in report.errors.items()]
    codes += [(f"<span class='warning'>{c}</span>", n, html.escape(REASONS[c])) for c, n in report.warnings.items()]
    return "<h2>Summary</h2>" + table((), rows) + (table(("code", "count", "why it matters"), codes) if codes else "")


def _sources(report: VerifyReport) -> str:
    rows = [(html.escape(k), f"{v.records:,}", f"{v.errors:,}") for k, v in sorted(report.by_source.items())]
    return "<h2>Per source</h2>" + table(("source prefix", "records", "errors"), rows)


def _problems(report: VerifyReport) -> str:
    shown = report.problems[:MAX_PROBLEMS]
    budget = [MAX_THUMBNAILS]
    rows = [_problem_row(p, report.root, budget) for p in shown]
    more = (
        f"<p>{len(report.problems) - len(shown):,} more in the JSON report.</p>"
        if len(report.problems) > len(shown)
        else ""
    )
    return (
        f"<h2>Problems ({len(report.problems):,})</h2>"
        + table(("index", "id", "code", "path", "detail", "image"), rows, "problems")
        + more
    )


def _problem_row(p: Problem, root: str, budget: list[int]) -> tuple[Any, ...]:
    cls = "error" if p.is_error else "warning"
    thumb = ""
    if p.path is not None and budget[0] > 0:
        thumb = _thumbnail(Path(root) / p.path)
        budget[0] -= bool(thumb)
    path = html.escape(p.path or "")
    return (
        p.index,
        html.escape(repr(p.id)),
        f"<span class='{cls}'>{p.code}</span>",
        path,
        html.escape(p.detail),
        thumb,
    )


def _thumbnail(path: Path) -> str:
    """An <img> of the image scaled to 96 px, or '' when it does not decode."""
    try:
        with Image.open(path) as im:
            im.thumbnail((96, 96))
            buf = io.BytesIO()
            im.convert("RGB").save(buf, "JPEG", quality=80)
    except (OSError, ValueError, Image.DecompressionBombError):
        return ""
    return (
        f"<img class='thumb' alt='thumbnail' src='data:image/jpeg;base64,{base64.b64encode(buf.getvalue()).decode()}'>"
    )


def _plots(report: VerifyReport) -> str:
    items = sorted(report.by_source.items(), key=lambda kv: -kv[1].records)
    names, counts, errors = [k for k, _ in items], [v.records for _, v in items], [v.errors for _, v in items]
    plots: list[tuple[str, Draw]] = [("Composition by source", lambda ax: bars(ax, names, counts, errors))]
    prof = report.profile
    if prof is not None and len(prof.turns):
        words = [abs(w) for w in prof.words]
        plots.append(("Turns per record", lambda ax: hist(ax, prof.turns, "turns per record")))
        plots.append(("Words", lambda ax: hist(ax, words, "words per record (sampler count)")))
    if prof is not None and prof.sizes:
        tokens = [visual_tokens(s) for s in prof.sizes]
        plots.append(("Image sizes", lambda ax: sizes_scatter(ax, prof.sizes)))
        plots.append(("Visual tokens", lambda ax: hist(ax, tokens, "estimated anyres visual tokens")))
    note = "" if report.deep else "<p>Image sizes and visual tokens: run verify with --deep.</p>"
    return "<h2>Plots</h2>" + figures(plots) + note
