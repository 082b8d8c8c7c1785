"""``write_html`` for stats: one self-contained page with the composition table and the distribution plots."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llavamix.extras import require
from llavamix.io import atomic_write_text
from llavamix.stats.report import StatsReport

CSS = """body{font:14px system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3}img.plot{max-width:100%;border:1px solid #eee;margin:.5em 0}"""


def write_html(report: StatsReport, out: Path) -> None:
    """Write ``report`` as one HTML page at ``out`` (needs the ``report`` extra for the plots)."""
    data = report.to_json()
    rows = [
        (html.escape(k), f"{v['records']:,}", f"{v['images']:,}", html.escape(", ".join(v["prefixes"])))
        for k, v in data["by_source"].items()
    ]
    totals = [
        ("records", f"{report.records:,}"),
        ("with image", f"{report.with_image:,}"),
        ("text-only", f"{report.text_only:,}"),
        ("malformed", f"{report.malformed:,}"),
        ("unique images", f"{report.images:,}"),
    ]
    body = (
        "<h2>Summary</h2>"
        + _table((), totals)
        + "<h2>Composition</h2>"
        + _table(("source", "records", "images", "prefixes"), rows)
        + "<h2>Plots</h2>"
        + _plots(report)
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>llavamix stats</title><style>{CSS}</style>"
        f"</head><body><h1>llavamix stats: {html.escape(Path(report.mix).name)}</h1>{body}</body></html>"
    )
    atomic_write_text(Path(out), page, durable=False)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    thead = f"<thead><tr>{head}</tr></thead>" if header else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def _plots(report: StatsReport) -> str:
    mpl = require("matplotlib")
    mpl.use("Agg")  # no display; renders straight to PNG
    plt = require("matplotlib.pyplot")
    by_source = sorted(report.by_source.items(), key=lambda kv: -kv[1].records)
    figs: list[tuple[str, Callable[[Any], None]]] = [
        ("Composition by source", lambda ax: _bars(ax, [k for k, _ in by_source], [v.records for _, v in by_source])),
        ("Turns per record", lambda ax: _hist(ax, report.turns, "turns")),
        ("Words per record (sampler count)", lambda ax: _hist(ax, [abs(m) for m in report.modality_lengths], "words")),
    ]
    if report.sizes:
        figs.append(("Image sizes", lambda ax: _scatter(ax, report.sizes)))
        figs.append(("Estimated anyres visual tokens per image", lambda ax: _hist(ax, report.visual_tokens, "tokens")))
    return "".join(_figure(plt, draw, title) for title, draw in figs)


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


def _bars(ax: Any, names: list[str], counts: list[int]) -> None:
    ax.barh(names, counts, color="#4a8")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("records")


def _hist(ax: Any, values: Sequence[int], label: str) -> None:
    ax.hist(values, bins=min(60, max(1, len(set(values)))), color="#48a")
    ax.set_xlabel(label)
    ax.set_ylabel("count")


def _scatter(ax: Any, sizes: Sequence[tuple[int, int]]) -> None:
    step = max(1, len(sizes) // 20000)  # a scatter of 20k points shows the shape; more only slows rendering
    ax.scatter([w for w, _ in sizes[::step]], [h for _, h in sizes[::step]], s=3, alpha=0.4, color="#a64")
    ax.set_xlabel("width (px)")
    ax.set_ylabel("height (px)")
