"""hf://datasets/<owner>/<repo>[@revision]/<path> through huggingface_hub: the Hub's URL, auth and LFS sha256.

The bytes themselves go through the same resumable HTTP download as every other source.
"""

from __future__ import annotations

import os
import re

import requests
from huggingface_hub import HfFileMetadata, constants, get_hf_file_metadata, hf_hub_url
from huggingface_hub.errors import EntryNotFoundError, GatedRepoError, HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import build_hf_headers

from llavamix import __version__
from llavamix.catalog import Source
from llavamix.fetch.http import HttpRemote
from llavamix.fetch.options import FetchOptions
from llavamix.fetch.remote import Expected
from llavamix.foundation.errors import ConfigError, FetchError

PREFIX = "hf://datasets/"
SHA256 = re.compile(r"[0-9a-f]{64}")
# the HTTP client's own errors (httpx or requests, depending on the huggingface_hub version) and socket errors
HUB_FAILURES: tuple[type[BaseException], ...] = (*HfHubHTTPError.__bases__, requests.RequestException, OSError)


def parse(url: str) -> tuple[str, str | None, str]:
    """``hf://datasets/owner/repo@rev/a/b.zip`` -> ``('owner/repo', 'rev', 'a/b.zip')``."""
    parts = url.removeprefix(PREFIX).split("/", 2)
    if not url.startswith(PREFIX) or len(parts) < 3 or not all(parts):
        raise ConfigError(f"{url!r} is not a Hub dataset file; write hf://datasets/<owner>/<repo>/<path>")
    owner, repo, path = parts
    repo, _, revision = repo.partition("@")
    return f"{owner}/{repo}", revision or None, path


def endpoint() -> str:
    """HF_ENDPOINT as it is now (huggingface_hub reads it once, at import)."""
    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def lfs_sha256(etag: str | None) -> str | None:
    """The Hub's ETag of an LFS file is its sha256; a plain git file's is a git hash, not a content digest."""
    return etag.lower() if etag and SHA256.fullmatch(etag.lower()) else None


def remote(source: Source, options: FetchOptions) -> HttpRemote:
    repo_id, revision, filename = parse(source.url)
    base = endpoint()
    url = hf_hub_url(repo_id, filename, repo_type="dataset", revision=revision, endpoint=base)
    # carries HF_TOKEN; requests drops it when redirected off the Hub
    headers = build_hf_headers(library_name="llavamix", library_version=__version__)
    meta = _metadata(url, base, repo_id, options)
    sha = lfs_sha256(meta.etag)
    return HttpRemote(url, options, headers=headers, expected=Expected(meta.size, ("sha256", sha) if sha else None))


def _metadata(url: str, base: str, repo_id: str, options: FetchOptions) -> HfFileMetadata:
    try:
        return get_hf_file_metadata(url, endpoint=base, timeout=options.timeout, retry_on_errors=True)
    except GatedRepoError:
        raise FetchError(
            f"{base}/datasets/{repo_id} is gated: accept its terms on that page, then set HF_TOKEN "
            "(or run `hf auth login`) and rerun"
        ) from None
    except RepositoryNotFoundError:
        raise FetchError(
            f"{base}/datasets/{repo_id} not found (or private: set HF_TOKEN); check the catalog's url"
        ) from None
    except EntryNotFoundError:
        raise FetchError(f"{url} does not exist on the Hub; check the catalog's url") from None
    except HUB_FAILURES as exc:
        raise FetchError(
            f"cannot get {url} from the Hub: {exc}; check the network (HF_ENDPOINT selects a mirror) and rerun"
        ) from None
