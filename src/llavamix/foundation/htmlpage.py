"""Self-contained HTML report pages: tables, and matplotlib plots embedded as data URIs (the ``report`` extra)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llavamix.foundation.extras import require
from llavamix.foundation.io import atomic_write_text

CSS = """body{font:14px system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3}.num{text-align:right}.error{color:#b00}.warning{color:#a60}.ok{color:#080}
img.plot{max-width:100%;border:1px solid #eee;margin:.5em 0}img.thumb{max-height:64px}"""

Draw = Callable[[Any], None]  # draws on one matplotlib Axes


def write_page(out: Path, title: str, body: str) -> None:
    """Write one HTML page (inline CSS, no external resources) atomically."""
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    atomic_write_text(Path(out), page, durable=False)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "") -> str:
    """An HTML table; cells are inserted as given (escape text cells before)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    thead = f"<thead><tr>{head}</tr></thead>" if header else ""
    return f"<table class='{cls}'>{thead}<tbody>{body}</tbody></table>"


def figures(plots: Sequence[tuple[str, Draw]]) -> str:
    """Render each ``(title, draw)`` as a PNG ``<img>`` with its data inline."""
    mpl = require("matplotlib")
    mpl.use("Agg")  # no display; renders straight to PNG
    plt = require("matplotlib.pyplot")
    return "".join(_figure(plt, draw, title) for title, draw in plots)


def _figure(plt: Any, draw: Draw, title: str) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=90)
    try:
        draw(ax)
        ax.set_title(title)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f"<img class='plot' alt='{html.escape(title)}' src='data:image/png;base64,{data}'>"


def bars(ax: Any, names: Sequence[str], counts: Sequence[int], errors: Sequence[int] | None = None) -> None:
    """Horizontal record counts per name; with ``errors``, each bar split into ok and errors."""
    ok = [c - e for c, e in zip(counts, errors, strict=True)] if errors is not None else counts
    ax.barh(names, ok, color="#4a8", label="ok")
    if errors is not None:
        ax.barh(names, errors, left=ok, color="#c44", label="errors")
        ax.legend()
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("records")


def hist(ax: Any, values: Sequence[int], label: str) -> None:
    ax.hist(values, bins=min(60, max(1, len(set(values)))), color="#48a")
    ax.set_xlabel(label)
    ax.set_ylabel("count")


def sizes_scatter(ax: Any, sizes: Sequence[tuple[int, int]]) -> None:
    step = max(1, len(sizes) // 20000)  # a scatter of 20k points shows the shape; more only slows rendering
    ax.scatter([w for w, _ in sizes[::step]], [h for _, h in sizes[::step]], s=3, alpha=0.4, color="#a64")
    ax.set_xlabel("width (px)")
    ax.set_ylabel("height (px)")
