"""A small mix with every case the browser must show or refuse, its data root, a real verify report, and a running
browse server (the library's, on 127.0.0.1 and a free port) with a helper for real HTTP requests."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llavamix.browse import BrowseOptions, Browser, BrowseServer, make_server, open_browser
from tests.mixdata import IMAGES, write_images, write_mix

COCO = "coco/train2017/000000000001.jpg"
FILLER = 40  # plain records after the special ones, so the list has several pages


def turns(*texts: str) -> list[dict[str, str]]:
    return [{"from": "human" if k % 2 == 0 else "gpt", "value": t} for k, t in enumerate(texts)]


def browse_records() -> list[dict[str, Any]]:
    """0-8: the cases (markup, order, text-only, problems, paths out of the root); then plain coco records."""
    special = [
        {"id": "<b>bold</b>", "image": COCO, "conversations": turns("<image>\n<script>alert(1)</script>", "ok")},
        {"id": 2327515, "image": "gqa/images/2327515.jpg", "conversations": turns("<image>\nfirst Q", "first A",
                                                                                  "second Q", "second A")},
        {"id": "story", "conversations": turns("Tell me a Story about a zebra", "Once upon a time")},
        {"id": "missing", "image": "coco/train2017/missing.jpg", "conversations": turns("<image>\nwhat?", "x")},
        {"id": "role", "image": COCO, "conversations": [{"from": "system", "value": "<image>\nhi"},
                                                        {"from": "gpt", "value": "x"}]},
        {"id": "climb", "image": "../secret.jpg", "conversations": turns("<image>\nwhat?", "x")},
        {"id": "absolute", "image": "/etc/hostname", "conversations": turns("<image>\nwhat?", "x")},
        {"id": "linked", "image": "coco/train2017/linked.jpg", "conversations": turns("<image>\nwhat?", "x")},
        {"id": "zero", "image": "coco/train2017/zero.jpg", "conversations": turns("<image>\nwhat?", "x")},
    ]  # fmt: skip
    filler = [{"id": f"f{k}", "image": COCO, "conversations": turns("<image>\nplain", f"a{k}")} for k in range(FILLER)]
    return special + filler


@dataclass(frozen=True)
class Site:
    """A mix on disk: ``mix``, its data ``root`` (with the hostile links), a ``report`` made by verify, and
    ``outside`` (a folder beside the root holding ``secret.jpg``)."""

    mix: Path
    root: Path
    report: Path
    outside: Path


def make_site(base: Path) -> Site:
    root = write_images(base / "data")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(IMAGES[COCO])
    (base / "secret.jpg").write_bytes(IMAGES[COCO])  # what "../secret.jpg" would name
    (root / "coco/train2017/linked.jpg").symlink_to(outside / "secret.jpg")
    (root / "coco/train2017/zero.jpg").symlink_to("/dev/zero")
    mix = write_mix(base / "mix.json", browse_records())
    report = base / "verify.json"
    cmd = [sys.executable, "-m", "llavamix", "verify", str(mix), "--root", str(root), "--report", str(report)]
    done = subprocess.run([*cmd, "--jobs", "1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3 and report.is_file(), done.stdout + done.stderr
    return Site(mix, root, report, outside)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory.mktemp("site"))


@dataclass
class Served:
    """A running server: ``get(path)`` answers (status, content type, body) over real HTTP."""

    server: BrowseServer
    browser: Browser

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
        request = urllib.request.Request(self.server.url.rstrip("/") + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.headers["Content-Type"], answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read()

    def page(self, path: str) -> str:
        status, kind, body = self.get(path)
        assert status == 200 and kind.startswith("text/html"), (status, body[:500])
        return body.decode()


@contextlib.contextmanager
def serving(mix: Path, root: Path, options: BrowseOptions) -> Iterator[Served]:
    """Open ``mix`` for browsing and serve it on a free port of 127.0.0.1 until the block ends."""
    browser = open_browser(mix, root, options)
    server = make_server(browser, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(server, browser)
    finally:
        server.shutdown()
        server.server_close()
        browser.index.close()


@pytest.fixture(scope="session")
def served(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    cache = tmp_path_factory.mktemp("cache")
    with serving(site.mix, site.root, BrowseOptions(report=site.report, cache=cache)) as running:
        yield running
