"""``write_html`` for stats: one self-contained page with the composition table and the distribution plots."""

from __future__ import annotations

import html
from pathlib import Path

from llavamix.foundation.htmlpage import Draw, bars, figures, hist, sizes_scatter, table, write_page
from llavamix.foundation.storage import StorageOptions, Target, check_output, local_output
from llavamix.stats.report import StatsReport


def write_html(report: StatsReport, out: Target, storage_options: StorageOptions | None = None) -> None:
    """Write ``report`` as one HTML page at ``out`` (needs the ``report`` extra for the plots)."""
    check_output(out, storage_options)
    with local_output(out, storage_options) as local:
        write_page(local, f"llavamix stats: {Path(report.mix).name}", render_body(report))


def render_body(report: StatsReport) -> str:
    """The page's body: summary, composition table and plots (``llavamix browse`` shows it on its summary page)."""
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
    return (
        "<h2>Summary</h2>"
        + table((), totals)
        + "<h2>Composition</h2>"
        + table(("source", "records", "images", "prefixes"), rows)
        + "<h2>Plots</h2>"
        + figures(_plots(report))
    )


def _plots(report: StatsReport) -> list[tuple[str, Draw]]:
    by_source = sorted(report.by_source.items(), key=lambda kv: -kv[1].records)
    names, counts = [k for k, _ in by_source], [v.records for _, v in by_source]
    plots: list[tuple[str, Draw]] = [
        ("Composition by source", lambda ax: bars(ax, names, counts)),
        ("Turns per record", lambda ax: hist(ax, report.turns, "turns")),
        ("Words per record (sampler count)", lambda ax: hist(ax, [abs(m) for m in report.modality_lengths], "words")),
    ]
    if report.sizes:
        plots.append(("Image sizes", lambda ax: sizes_scatter(ax, report.sizes)))
        plots.append(("Estimated anyres visual tokens per image", lambda ax: hist(ax, report.visual_tokens, "tokens")))
    return plots
