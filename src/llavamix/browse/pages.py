"""The browser's HTML: every page is built here, and every string that comes from a record, a report or a request
is escaped on its way in (records are untrusted: an id or a turn may hold markup)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from llavamix.browse.grid import AnyresView
from llavamix.browse.prompt import Conversation
from llavamix.browse.query import Listing, Query
from llavamix.foundation.htmlpage import CSS
from llavamix.foundation.records import IMAGE_TOKEN
from llavamix.foundation.records.problem import Problem
from llavamix.foundation.records.reasons import REASONS

EXTRA_CSS = """nav a{margin-right:1em}form.filters input,form.filters select{margin:0 .6em .4em 0}
.turn{border-left:4px solid #48a;padding:.3em .8em;margin:.5em 0;white-space:pre-wrap}.turn.gpt{border-color:#4a8}
.turn.odd{border-color:#c44}.role{font-weight:bold;display:block}mark.image-token{background:#fd6}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.6em}img#image{max-width:100%;max-height:640px}
.snippet{color:#555}.grid line{stroke:#f00;stroke-width:2}"""


def esc(value: Any) -> str:
    """Any value as escaped HTML text (strings as they are, anything else as JSON)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return html.escape(text, quote=True)


def document(title: str, body: str) -> str:
    """A whole page: the title, the navigation, ``body`` (already HTML)."""
    nav = "<nav><a href='/'>records</a><a href='/summary'>summary</a></nav>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<style>{CSS}\n{EXTRA_CSS}</style></head><body>{nav}<h1>{esc(title)}</h1>{body}</body></html>"
    )


def error_page(status: int, message: str) -> str:
    return document(f"{status}", f"<p class='error' id='message'>{esc(message)}</p>")


@dataclass(frozen=True)
class Row:
    """One record of the list: ``index`` in the mix, its id and image, the first turn's start, its problems."""

    index: int
    id: Any
    image: Any
    snippet: str
    codes: Sequence[str]


@dataclass(frozen=True)
class ListView:
    mix: str
    records: int
    query: Query
    listing: Listing
    rows: Sequence[Row]
    sources: Sequence[str]
    codes: Mapping[str, int]  # the report's codes and their record counts (empty without a report)


def list_page(view: ListView) -> str:
    body = _filters(view) + _status(view) + _rows_table(view.rows) + _pager(view)
    return document(f"{view.mix}: {view.records:,} records", body)


def _options(
    name: str, values: Sequence[str], chosen: str, labels: Mapping[str, str] | None = None, *, blank: bool = True
) -> str:
    """A select of ``values`` (``labels`` shown for some), ``chosen`` selected; ``blank`` adds "any NAME" first."""
    options = [f"<option value=''>any {esc(name)}</option>"] if blank else []
    for value in values:
        selected = " selected" if value == chosen else ""
        options.append(f"<option value='{esc(value)}'{selected}>{esc((labels or {}).get(value, value))}</option>")
    return f"<select name='{esc(name)}'>{''.join(options)}</select>"


def _filters(view: ListView) -> str:
    q = view.query
    codes = _options("problem", list(view.codes), q.problem, {c: f"{c} ({n:,})" for c, n in view.codes.items()})
    fields = (
        f"<input name='prefix' placeholder='image prefix' value='{esc(q.prefix)}'>"
        + _options("source", view.sources, q.source)
        + (codes if view.codes else "")
        + f"<input name='text' placeholder='text in the conversation' value='{esc(q.text)}'>"
        + f"<input name='id' placeholder='id' value='{esc(q.id)}'>"
        + f"<input name='per' type='number' min='1' max='500' value='{q.per}'>"
    )
    return f"<form class='filters' method='get' action='/'>{fields}<button type='submit'>filter</button></form>"


def _status(view: ListView) -> str:
    listing, q = view.listing, view.query
    if listing.total is not None:
        first = q.page * q.per
        shown = f"{first + 1:,}–{first + len(listing.rows):,}" if listing.rows else "none"
        return f"<p id='status'>{listing.total:,} records match; showing {shown}</p>"
    end = q.start + listing.scanned
    return f"<p id='status'>{len(listing.rows)} matches in records {q.start:,}–{max(q.start, end - 1):,}</p>"


def _rows_table(rows: Sequence[Row]) -> str:
    head = "<tr><th>#</th><th>id</th><th>image</th><th>first turn</th><th>problems</th></tr>"
    body = "".join(
        f"<tr class='record' data-index='{r.index}'><td><a href='/record/{r.index}'>{r.index}</a></td>"
        f"<td class='id'>{esc(r.id)}</td><td>{_thumb(r)}</td><td class='snippet'>{esc(r.snippet)}</td>"
        f"<td class='codes'>{esc(', '.join(r.codes))}</td></tr>"
        for r in rows
    )
    return f"<table id='records'><thead>{head}</thead><tbody>{body}</tbody></table>"


def _thumb(row: Row) -> str:
    if not isinstance(row.image, str):
        return "<span class='text-only'>text-only</span>" if row.image is None else esc(row.image)
    return f"<img class='thumb' loading='lazy' alt='' src='/image/{row.index}'> {esc(row.image)}"


def _pager(view: ListView) -> str:
    q, listing, links = view.query, view.listing, []
    if listing.total is not None:
        if q.page:
            links.append(f"<a id='prev' href='{esc(q.url(page=q.page - 1))}'>previous page</a>")
        if (q.page + 1) * q.per < listing.total:
            links.append(f"<a id='next' href='{esc(q.url(page=q.page + 1))}'>next page</a>")
    elif listing.next_start is not None:
        label = "next matches" if len(listing.rows) == q.per else "search on"
        links.append(f"<a id='next' href='{esc(q.url(start=listing.next_start))}'>{label}</a>")
    return f"<p class='pager'>{' '.join(links)}</p>"


@dataclass(frozen=True)
class RecordView:
    """What a record page shows; ``anyres`` is the grid view, or why it is missing (None when not asked for)."""

    index: int
    records: int
    value: Any
    conversation: Conversation
    problems: Sequence[Problem]
    template: str
    templates: Sequence[str]
    anyres: AnyresView | str | None


def record_page(view: RecordView) -> str:
    record = view.value if isinstance(view.value, dict) else {}
    head = (
        f"<p>id <code id='record-id'>{esc(record.get('id'))}</code> · image "
        f"<code id='image-path'>{esc(record.get('image', '(none: text-only)'))}</code></p>"
    )
    body = head + _neighbours(view) + _image(view, record) + _problems(view.problems) + _conversation(view)
    body += f"<h2>JSON</h2><pre id='json'>{esc(json.dumps(view.value, indent=1, ensure_ascii=False))}</pre>"
    return document(f"record {view.index:,} of {view.records:,}", body)


def _neighbours(view: RecordView) -> str:
    links = []
    if view.index > 0:
        links.append(f"<a id='prev' href='/record/{view.index - 1}'>previous record</a>")
    if view.index + 1 < view.records:
        links.append(f"<a id='next' href='/record/{view.index + 1}'>next record</a>")
    links.append(f"<a id='list' href='/?page={view.index // Query().per}'>in the list</a>")
    return f"<p class='pager'>{' '.join(links)}</p>"


def _image(view: RecordView, record: Mapping[str, Any]) -> str:
    if "image" not in record:
        return ""
    src = f"/image/{view.index}"
    ask = f"<a id='anyres' href='/record/{view.index}?template={quote(view.template)}&amp;grid=1'>anyres grid</a>"
    if view.anyres is None:
        return f"<h2>Image</h2><p>{ask}</p><img id='image' alt='the record image' src='{src}'>"
    if isinstance(view.anyres, str):
        return f"<h2>Image</h2><p class='error'>{esc(view.anyres)}</p><img id='image' alt='' src='{src}'>"
    return "<h2>Image</h2>" + _grid(view.anyres, src)


def _grid(v: AnyresView, src: str) -> str:
    (gw, gh), (x, y, w, h), (cols, rows) = v.grid, v.placed, v.tiles
    lines = [f"<line x1='{gw * k // cols}' y1='0' x2='{gw * k // cols}' y2='{gh}'/>" for k in range(1, cols)]
    lines += [f"<line x1='0' y1='{gh * k // rows}' x2='{gw}' y2='{gh * k // rows}'/>" for k in range(1, rows)]
    svg = (
        f"<svg class='grid' width='{gw}' height='{gh}' viewBox='0 0 {gw} {gh}' style='max-width:100%;background:#888'>"
        f"<image id='image' href='{src}' x='{x}' y='{y}' width='{w}' height='{h}' preserveAspectRatio='none'/>"
        f"{''.join(lines)}</svg>"
    )
    facts = (
        f"<p id='anyres-facts'>image {v.size[0]}×{v.size[1]} px · grid {gw}×{gh} px ({cols}×{rows} tiles of 336 px) "
        f"· about <b id='tokens'>{v.tokens:,}</b> visual tokens (anyres, base view included)</p>"
    )
    return facts + svg


def _problems(problems: Sequence[Problem]) -> str:
    if not problems:
        return ""
    items = "".join(
        f"<li class='{'error' if p.is_error else 'warning'}'><b>{esc(p.code)}</b> {esc(p.detail)}"
        f"<br><small>{esc(REASONS.get(p.code, ''))}</small></li>"
        for p in problems
    )
    return f"<h2>Verify problems</h2><ul id='problems'>{items}</ul>"


def _conversation(view: RecordView) -> str:
    conv = view.conversation
    turns = "".join(_turn(k, who, text) for k, (who, text) in enumerate(conv.turns))
    form = (
        f"<form method='get' action='/record/{view.index}'>template "
        f"{_options('template', view.templates, view.template, blank=False)}"
        "<button type='submit'>render</button></form>"
    )
    rendered = (
        f"<pre id='prompt'>{_mark_image(conv.prompt)}</pre>"
        if conv.prompt is not None
        else f"<p class='error' id='prompt-problem'>{esc(conv.problem)}</p>"
    )
    return (
        f"<h2>Conversation</h2><ol id='turns'>{turns}</ol>"
        f"<h2>As the model sees it ({esc(view.template)})</h2>{form}{rendered}"
    )


def _turn(k: int, who: Any, text: Any) -> str:
    role = who if who in ("human", "gpt") else "odd"
    body = _mark_image(text) if isinstance(text, str) else esc(text)
    return f"<li class='turn {role}' data-turn='{k}'><span class='role'>{esc(who)}</span>{body}</li>"


def _mark_image(text: str) -> str:
    """``text`` escaped, each ``<image>`` token highlighted where it stands."""
    return f"<mark class='image-token'>{esc(IMAGE_TOKEN)}</mark>".join(esc(part) for part in text.split(IMAGE_TOKEN))


def summary_page(mix: str, stats_body: str, codes: Mapping[str, int], with_images: bool) -> str:
    """The stats stage's body, with the verify report's codes (each a link to its records) when there is one."""
    rows = "".join(
        f"<tr><td><a href='/?problem={quote(code)}'>{esc(code)}</a></td><td class='num'>{n:,}</td></tr>"
        for code, n in codes.items()
    )
    report = f"<h2>Verify problems</h2><table id='codes'>{rows}</table>" if codes else ""
    more = "" if with_images else "<p><a href='/summary?images=1'>with image sizes</a> (reads every image header)</p>"
    return document(f"{mix}: summary", report + more + stats_body)
