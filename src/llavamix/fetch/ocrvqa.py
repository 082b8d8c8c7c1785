"""The OCR-VQA crawl: ``dataset.json`` ({key: {"imageURL": ...}}) lists one URL per book cover; each lands as
``<target>/<key>.jpg`` holding JPEG bytes, written through a temporary name. The caller says which keys are
wanted (``CrawlJob.uses``: the keys the mixes reference, or None for every key) and where they land; this stage
never reads a mix itself. Resumable (a key whose file exists is skipped); dead URLs are listed, never fatal. An
index fetched over the network yields http(s) image URLs only (``crawl.allowed_schemes``).

``fetch_image`` is the whole per-key work: the local thread pool runs it, and so can any other executor.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import msgspec

from llavamix.fetch.crawl import Crawler, Dead
from llavamix.fetch.jpeg import NotAnImage, as_jpeg
from llavamix.fetch.options import CrawlReport, FetchOptions
from llavamix.fetch.remote import Transient
from llavamix.foundation.errors import FetchError
from llavamix.foundation.io import PART_SUFFIX, atomic_write_text, commit, part_path
from llavamix.foundation.tasks import Outcome, RetryPolicy, run_tasks

log = logging.getLogger(__name__)

EXT = ".jpg"
SAFE_KEY = re.compile(r"[A-Za-z0-9_-][\w.-]*")  # a file name, never a path


class _Entry(msgspec.Struct):
    imageURL: str  # dataset.json's spelling


_index = msgspec.json.Decoder(dict[str, _Entry])


@dataclass(frozen=True)
class CrawlJob:
    """One crawl: the source's name (reports, progress), its image index and the URL it came from (relative image
    URLs resolve against it, and it decides which schemes they may use), the folder the images land in, how many
    mix records use each key (None: every key of the index), the file listing dead and failed keys, and the keys
    a mirror already laid out in the folder (None: no mirror was used), never crawled."""

    source: str
    index: Path
    origin: str
    target: Path
    uses: Counter[str] | None
    report: Path
    mirrored: frozenset[str] | None = None


@dataclass(frozen=True)
class Wanted:
    key: str
    url: str


@dataclass(frozen=True)
class Gone:
    """A key whose URL is dead, and why."""

    key: str
    reason: str


def read_index(path: Path, base_url: str) -> dict[str, str]:
    """key -> absolute image URL; relative URLs resolve against ``base_url`` (where the index came from)."""
    try:
        entries = _index.decode(path.read_bytes())
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise FetchError(f"{path} is not an OCR-VQA dataset.json ({{key: {{imageURL, ...}}}}): {exc}") from None
    return {key: urljoin(base_url, entry.imageURL) for key, entry in entries.items()}


def landed_keys(target: Path) -> set[str]:
    """Keys whose image is in ``target``; temporary files of a killed run are removed on the way."""
    keys = set()
    with os.scandir(target) as entries:
        for entry in entries:
            if entry.name.endswith(PART_SUFFIX):
                Path(entry.path).unlink(missing_ok=True)
            elif entry.name.endswith(EXT):
                keys.add(entry.name[: -len(EXT)])
    return keys


def fetch_image(item: Wanted, target: Path, crawler: Crawler) -> int | Gone:
    """Land one key's image as ``target/<key>.jpg``; its size, or Gone. Raises Transient for a retry."""
    if not SAFE_KEY.fullmatch(item.key):
        return Gone(item.key, "the key is not a plain file name")
    try:
        data, _ = as_jpeg(crawler.get(item.url))
    except (Dead, NotAnImage) as exc:
        return Gone(item.key, str(exc))
    dest = target / (item.key + EXT)
    tmp = part_path(dest)
    try:
        tmp.write_bytes(data)
        commit(tmp, dest)  # no fsync per image: the extraction marker's sync covers them all
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(data)


def crawl_ocrvqa(job: CrawlJob, options: FetchOptions) -> CrawlReport:
    """Crawl the wanted images ``job.index`` (a dataset.json) lists; raises FetchError if some still failed."""
    urls = read_index(job.index, job.origin)
    uses, mirrored = job.uses, job.mirrored or frozenset()
    job.target.mkdir(parents=True, exist_ok=True)
    present = landed_keys(job.target)
    known = urls.keys() | (mirrored & present)  # a key the index lacks is served by the mirror all the same
    keys = sorted(known) if uses is None or options.crawl.all_keys else sorted(k for k in uses if k in known)
    report = _found(job, keys, present, mirrored)
    report.unknown = 0 if uses is None else sum(k not in known for k in uses)
    todo = [Wanted(k, urls[k]) for k in keys if k not in present]
    log.info("%s: %d of %d images to crawl", job.source, len(todo), len(keys))
    _run(todo, job.target, Crawler(options.crawl, origin=job.origin), options, report)
    if uses is not None:  # the records whose image is dead, or neither in the index nor the mirror
        report.dead_records = sum(n for k, n in uses.items() if k in report.dead or k not in known)
    report.report = _write_report(report, job.report, urls)
    if report.failed:
        raise FetchError(
            f"{len(report.failed):,} of {len(keys):,} images could not be fetched after retries "
            f"(e.g. {next(iter(report.failed.values()))}); rerun to retry them: finished images are kept "
            f"(all are listed in {report.report})"
        )
    return report


def _found(job: CrawlJob, keys: list[str], present: set[str], mirrored: frozenset[str]) -> CrawlReport:
    """The report before the crawl: the wanted keys already there, from the mirror or an earlier crawl."""
    there = [k for k in keys if k in present]
    from_mirror = sum(k in mirrored for k in there)
    report = CrawlReport(job.source, len(keys), present=len(there) - from_mirror, mirrored=from_mirror)
    report.mirror = job.mirrored is not None
    return report


def _run(todo: list[Wanted], target: Path, crawler: Crawler, options: FetchOptions, report: CrawlReport) -> None:
    crawl, label = options.crawl, f"{report.source} images"
    policy = RetryPolicy(retries=crawl.retries, base_delay=crawl.backoff, retry_on=(Transient,))
    options.progress.start(label, len(todo), "files")
    try:
        run_tasks(
            todo,
            lambda item: fetch_image(item, target, crawler),
            key=lambda item: item.key,
            jobs=crawl.jobs,
            retry=policy,
            on_outcome=_collector(report, options),
        )
    finally:
        options.progress.finish(label)
        crawler.close()


def _collector(report: CrawlReport, options: FetchOptions) -> Callable[[Outcome], None]:
    def collect(outcome: Outcome) -> None:
        options.progress.advance(f"{report.source} images", 1)
        if outcome.status == "failed":
            report.failed[outcome.key] = str(outcome.error)
        elif isinstance(outcome.value, Gone):
            report.dead[outcome.key] = outcome.value.reason
        else:
            report.landed += 1

    return collect


def _write_report(report: CrawlReport, path: Path, urls: dict[str, str]) -> Path:
    body = {
        "source": report.source,
        "keys": report.keys,
        "dead_records": report.dead_records,
        "dead": [{"key": k, "url": urls.get(k), "reason": why} for k, why in sorted(report.dead.items())],
        "failed": [{"key": k, "url": urls.get(k), "error": why} for k, why in sorted(report.failed.items())],
    }
    atomic_write_text(path, json.dumps(body, indent=1) + "\n", durable=False)
    if report.dead:
        log.info("%s: %d dead image URLs, listed in %s", report.source, len(report.dead), path)
    return path
