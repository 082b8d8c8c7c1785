"""``write_html``: the verify report as one self-contained page (inline CSS, plots and thumbnails as data URIs)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from llavamix.extras import require
from llavamix.io import atomic_write_text
from llavamix.records.anyres import visual_tokens
from llavamix.verify.reasons import REASONS
from llavamix.verify.report import Problem, VerifyReport

MAX_PROBLEMS = 500  # rows in the problems table; the JSON report has them all
MAX_THUMBNAILS = 100
CSS = """body{font:14px system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3}.num{text-align:right}.error{color:#b00}.warning{color:#a60}.ok{color:#080}
img.plot{max-width:100%;border:1px solid #eee;margin:.5em 0}img.thumb{max-height:64px}"""


def write_html(report: VerifyReport, out: Path) -> None:
    """Write ``report`` as one HTML page at ``out`` (needs the ``report`` extra for the plots)."""
    sections = [_summary(report), _sources(report), _problems(report), _plots(report)]
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>llavamix verify</title><style>{CSS}</style>"
        f"</head><body><h1>llavamix verify: {html.escape(Path(report.mix).name)}</h1>"
        + "".join(sections)
        + "</body></html>"
    )
    atomic_write_text(Path(out), page, durable=False)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    thead = f"<thead><tr>{head}</tr></thead>" if header else ""
    return f"<table class='{cls}'>{thead}<tbody>{body}</tbody></table>"


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
    return "<h2>Summary</h2>" + _table((), rows) + (_table(("code", "count", "why it matters"), codes) if codes else "")


def _sources(report: VerifyReport) -> str:
    rows = [(html.escape(k), f"{v.records:,}", f"{v.errors:,}") for k, v in sorted(report.by_source.items())]
    return "<h2>Per source</h2>" + _table(("source prefix", "records", "errors"), rows)


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
        + _table(("index", "id", "code", "path", "detail", "image"), rows, "problems")
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
    plt = _pyplot()
    parts = [_figure(plt, lambda ax: _composition(ax, report), "Composition by source")]
    prof = report.profile
    if prof is not None and len(prof.turns):
        parts.append(_figure(plt, lambda ax: _hist(ax, prof.turns, "turns per record"), "Turns per record"))
        words = [abs(w) for w in prof.words]
        parts.append(_figure(plt, lambda ax: _hist(ax, words, "words per record (sampler count)"), "Words"))
    if prof is not None and prof.sizes:
        parts.append(_figure(plt, lambda ax: _sizes(ax, prof.sizes), "Image sizes"))
        tokens = [visual_tokens(s) for s in prof.sizes]
        parts.append(_figure(plt, lambda ax: _hist(ax, tokens, "estimated anyres visual tokens"), "Visual tokens"))
    elif not report.deep:
        parts.append("<p>Image sizes and visual tokens: run verify with --deep.</p>")
    return "<h2>Plots</h2>" + "".join(parts)


def _pyplot() -> Any:
    mpl = require("matplotlib")
    mpl.use("Agg")  # no display; renders straight to PNG
    return require("matplotlib.pyplot")


def _figure(plt: Any, draw: Callable[[Any], None], title: str) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=90)
    draw(ax)
    ax.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f"<img class='plot' alt='{html.escape(title)}' src='data:image/png;base64,{data}'>"


def _composition(ax: Any, report: VerifyReport) -> None:
    items = sorted(report.by_source.items(), key=lambda kv: -kv[1].records)
    names = [k for k, _ in items]
    ax.barh(names, [v.records - v.errors for _, v in items], color="#4a8", label="ok")
    ax.barh(
        names, [v.errors for _, v in items], left=[v.records - v.errors for _, v in items], color="#c44", label="errors"
    )
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("records")
    ax.legend()


def _hist(ax: Any, values: Sequence[int], label: str) -> None:
    ax.hist(values, bins=min(60, max(1, len(set(values)))), color="#48a")
    ax.set_xlabel(label)
    ax.set_ylabel("count")


def _sizes(ax: Any, sizes: Sequence[tuple[int, int]]) -> None:
    step = max(1, len(sizes) // 20000)  # a scatter of 20k points shows the shape; more only slows rendering
    ax.scatter([w for w, _ in sizes[::step]], [h for _, h in sizes[::step]], s=3, alpha=0.4, color="#a64")
    ax.set_xlabel("width (px)")
    ax.set_ylabel("height (px)")
