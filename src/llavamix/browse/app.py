"""The browser's server and routes: the standard library's threading HTTP server, bound to 127.0.0.1 only, over
one ``Browser`` (the mix's index, its verify report, the data root). Read-only: GET and HEAD, nothing written.

Routes: ``/`` (the list; filters in the query string, see ``query.Query``), ``/record/N`` (``?template=``,
``?grid=1``), ``/image/N`` (record N's image bytes), ``/summary`` (``?images=1`` adds the image sizes).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from llavamix import index as index_stage
from llavamix.browse import pages
from llavamix.browse.grid import anyres_view
from llavamix.browse.images import Refused, image_bytes
from llavamix.browse.indexfile import IndexPlan, plan_index
from llavamix.browse.problems import ProblemBook, read_problems
from llavamix.browse.prompt import DEFAULT_TEMPLATE, conversation
from llavamix.browse.query import Finder, Query
from llavamix.browse.summary import Summary
from llavamix.catalog import known_prefixes
from llavamix.foundation.errors import ConfigError, LlavamixError
from llavamix.foundation.formats.index import MixIndex, open_index
from llavamix.foundation.tasks import NULL_PROGRESS, Progress
from llavamix.loader.conversation import TEMPLATES, template

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # never another interface: the pages show whatever the data root holds
HTML = "text/html; charset=utf-8"
# no script runs on any page (there is none), so markup that slipped into a record could not run either
POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'"
SMALL_MIX = 64 << 20  # bytes of mix JSON indexed in this process
RECORD_PATH = re.compile(r"/(record|image)/([^/]*)")


@dataclass(frozen=True)
class BrowseOptions:
    """``report``: a verify report of the mix (problem filter and lists); ``template``: the conversation template
    record pages render with by default; ``cache``: where an index is built when the mix has none beside it
    (default ``indexfile.default_cache()``, never under the root); ``jobs``: processes building it."""

    report: Path | None = None
    template: str = DEFAULT_TEMPLATE
    cache: Path | None = None
    jobs: int = 2
    progress: Progress = field(default=NULL_PROGRESS, compare=False)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


class Browser:
    """What the pages show: one mix through its index, its problems, its data root; ``answer`` serves a URL."""

    def __init__(self, mix: Path, root: Path, index: MixIndex, problems: ProblemBook, template: str) -> None:
        self.mix, self.root, self.index, self.problems, self.template = mix, root, index, problems, template
        self.built_index = False  # whether opening it built the index (open_browser says)
        sources: dict[str, list[str]] = {}
        for prefix, name in known_prefixes().items():
            sources.setdefault(name, []).append(prefix)
        self.finder = Finder(index, problems, sources)
        self.summary = Summary(mix, root)

    def answer(self, url: str) -> Answer:
        """The answer to a GET of ``url`` (path and query string); refusals become error pages."""
        parts = urlsplit(url)
        params = parse_qs(parts.query)
        try:
            return self._route(parts.path, params)
        except Refused as exc:
            return _html(exc.status, pages.error_page(exc.status, str(exc)))
        except LlavamixError as exc:  # a missing extra, an unreadable index: the page says what to do
            return _html(500, pages.error_page(500, str(exc)))

    def _route(self, path: str, params: dict[str, list[str]]) -> Answer:
        if path in ("/", "/records"):
            return _html(200, self.list_page(Query.parse(params)))
        if path == "/summary":
            return _html(200, self.summary_page(_flag(params, "images")))
        found = RECORD_PATH.fullmatch(path)
        if found is None:
            raise Refused(404, f"no page {path!r}; the pages are /, /record/N, /image/N and /summary")
        i = self.record_number(found.group(2))
        if found.group(1) == "image":
            image = image_bytes(self.root, self.index.image(i) if self.index.has_image(i) else None)
            return Answer(200, image.content_type, image.data)
        return _html(200, self.record_page(i, _last(params, "template", self.template), _flag(params, "grid")))

    def record_number(self, text: str) -> int:
        """The record index in a URL; Refused: 400 when it is not a number, 404 when the mix has no such record."""
        if not text.isdigit():
            raise Refused(400, f"record {text!r}: give the record's position in the mix, 0 to {len(self.index) - 1}")
        n = len(self.index)
        if int(text) >= n:
            raise Refused(404, f"no record {text}: the mix has {n:,} records (0 to {n - 1})")
        return int(text)

    def list_page(self, query: Query) -> str:
        listing = self.finder.listing(query)
        rows = [self._row(i) for i in listing.rows]
        sources = sorted({*self.finder.sources, "text-only"})
        view = pages.ListView(self.mix.name, len(self.index), query, listing, rows, sources, self.problems.codes())
        return pages.list_page(view)

    def _row(self, i: int) -> pages.Row:
        value = self.index.value(i)
        record = value if isinstance(value, dict) else {}
        turns = record.get("conversations")
        first = turns[0] if isinstance(turns, list) and turns else None
        text = first.get("value") if isinstance(first, dict) else first
        snippet = text if isinstance(text, str) else "" if text is None else repr(text)
        codes = sorted({p.code for p in self.problems.by_index.get(i, [])})
        return pages.Row(i, record.get("id"), record.get("image"), snippet[:160], codes)

    def record_page(self, i: int, template_name: str, grid: bool) -> str:
        try:
            template(template_name)
        except ConfigError as exc:
            raise Refused(400, str(exc)) from None
        value = self.index.value(i)
        view = pages.RecordView(
            index=i,
            records=len(self.index),
            value=value,
            conversation=conversation(value, template_name),
            problems=self.problems.by_index.get(i, []),
            template=template_name,
            templates=list(TEMPLATES),
            anyres=self._anyres(i) if grid else None,
        )
        return pages.record_page(view)

    def _anyres(self, i: int) -> Any:
        """The anyres view of record ``i``'s image, or why there is none (a message)."""
        try:
            return anyres_view(image_bytes(self.root, self.index.image(i)).data)
        except (Refused, ValueError) as exc:
            return f"no anyres grid: {exc}"

    def summary_page(self, with_images: bool) -> str:
        body = self.summary.body(with_images)
        return pages.summary_page(self.mix.name, body, self.problems.codes(), with_images)


def _html(status: int, page: str) -> Answer:
    return Answer(status, HTML, page.encode())


def _last(params: dict[str, list[str]], name: str, default: str) -> str:
    return params[name][-1] if name in params else default


def _flag(params: dict[str, list[str]], name: str) -> bool:
    return _last(params, name, "0") not in ("0", "", "false", "no")


def open_browser(mix: Path, root: Path, options: BrowseOptions | None = None) -> Browser:
    """Open ``mix`` for browsing: its index (built first, outside ``root``, when there is none), its report.

    ConfigError for a root that is not a folder, an unknown template, a report of another mix, a cache inside the
    root; MixFormatError when the mix cannot be indexed."""
    options = options or BrowseOptions()
    mix, root = Path(mix), Path(root)
    template(options.template)
    if not root.is_dir():
        raise ConfigError(f"data root {root} is not a folder; pass --root with the folder the mix's images are in")
    plan = index_plan(mix, root, options)
    index = open_index(plan.path)
    browser = Browser(mix, root, index, read_problems(options.report, len(index)), options.template)
    browser.built_index = plan.build
    return browser


def index_plan(mix: Path, root: Path, options: BrowseOptions) -> IndexPlan:
    """The index of ``mix``, built now into the cache when there is none (``plan.build`` says it was)."""
    plan = plan_index(mix, root, options.cache)
    if plan.build:
        log.info("indexing %s into %s", mix, plan.path)
        # worker processes cost more to start than a small mix takes to index
        jobs = options.jobs if mix.stat().st_size > SMALL_MIX else 1
        index_stage.build_index(mix, plan.path, index_stage.IndexOptions(jobs=jobs, progress=options.progress))
    return plan


class BrowseServer(ThreadingHTTPServer):
    """The HTTP server of one ``Browser``; request threads are daemons, so stopping never waits on a slow client."""

    daemon_threads = True

    def __init__(self, browser: Browser, port: int) -> None:
        self.browser = browser
        super().__init__((HOST, port), _Handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"


def make_server(browser: Browser, port: int = 0) -> BrowseServer:
    """A server for ``browser`` on 127.0.0.1:``port`` (0: any free port; ``server.url`` says which), not yet
    serving: call ``serve_forever()``, and ``shutdown()`` from another thread to stop it."""
    return BrowseServer(browser, port)


class _Handler(BaseHTTPRequestHandler):
    server_version = "llavamix-browse"

    def do_GET(self) -> None:
        self._send(with_body=True)

    def do_HEAD(self) -> None:
        self._send(with_body=False)

    def _send(self, with_body: bool) -> None:
        answer = self._answer()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Content-Security-Policy", POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if with_body:
            self.wfile.write(answer.body)

    def _answer(self) -> Answer:
        host = self.headers.get("Host", "").rsplit(":", 1)[0]
        if host not in (HOST, "localhost"):
            # another name resolving here (DNS rebinding) must not let a web page read the data
            return _html(403, pages.error_page(403, f"host {host!r} refused; open {HOST} or localhost"))
        browser = cast(BrowseServer, self.server).browser
        try:
            return browser.answer(self.path)
        except Exception as exc:  # one page's bug must not end the server; it is logged in full
            log.exception("browse: %s failed", self.path)
            return _html(500, pages.error_page(500, f"{type(exc).__name__}: {exc}"))

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("browse: " + format, *args)
