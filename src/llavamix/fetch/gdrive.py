"""gdrive:// sources: a Google Drive file (``gdrive://<file-id>``) or one file of a shared folder
(``gdrive://folders/<folder-id>``, the catalog's ``filename`` naming it).

gdown supplies the knowledge of Drive's pages (the folder listing, the virus-scan confirmation form); the bytes
go through the same resumable HTTP download as every other source. Drive's refusals (the download quota, a file
that is not shared) become advice naming the file, the page to open in a browser and where to put the file.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlencode, urlparse

import gdown
import requests
from gdown.download import GoogleDriveFileToDownload, get_url_from_gdrive_confirmation
from gdown.exceptions import DownloadError, FileURLRetrievalError

from llavamix.catalog import Source
from llavamix.fetch.http import HttpRemote
from llavamix.fetch.options import FetchOptions
from llavamix.fetch.remote import Body, Refused, Transient
from llavamix.foundation.errors import ConfigError

DRIVE = "https://drive.google.com"
FOLDERS = "folders/"
ID = re.compile(r"[-\w]{10,}")
MAX_PAGES = 3  # the file, or a confirmation page and then the file; more means Drive is answering something else
QUOTA = re.compile(r"too many users have (viewed|downloaded)|quota (exceeded|has been exceeded)", re.IGNORECASE)


@dataclass(frozen=True)
class DriveRef:
    """What a gdrive:// URL names: a file id, or a folder id whose member is picked by file name."""

    id: str
    folder: bool

    @property
    def page(self) -> str:
        """The page a person opens in a browser to download it by hand."""
        return f"{DRIVE}/drive/folders/{self.id}" if self.folder else f"{DRIVE}/file/d/{self.id}/view"


def parse(url: str) -> DriveRef:
    """``gdrive://<id>`` or ``gdrive://folders/<id>`` -> DriveRef; anything else is a ConfigError."""
    rest = url.removeprefix("gdrive://")
    folder = rest.startswith(FOLDERS)
    ident = rest.removeprefix(FOLDERS).strip("/")
    if not url.startswith("gdrive://") or not ID.fullmatch(ident):
        raise ConfigError(f"{url!r} is not a Drive link; write gdrive://<file-id> or gdrive://folders/<folder-id>")
    return DriveRef(ident, folder)


def download_url(file_id: str) -> str:
    return f"{DRIVE}/uc?{urlencode({'id': file_id, 'export': 'download'})}"


class DriveRemote(HttpRemote):
    """A Drive file read through Drive's download endpoint; nothing is asked of Drive before ``open``, so a file
    put in place by hand is adopted without touching Drive."""

    spans = False  # a range needs the URL that Drive's confirmation page leads to, which only ``open`` follows

    def __init__(self, ref: DriveRef, name: str, options: FetchOptions) -> None:
        super().__init__(ref.page, options)  # ``url`` is what messages show: the page to open in a browser
        self.ref, self.name = ref, name
        self._file_id = None if ref.folder else ref.id

    @contextlib.contextmanager
    def open(self, offset: int, validator: str | None) -> Iterator[Body]:
        url = download_url(self.file_id())
        for _ in range(MAX_PAGES):
            with self.request(url, offset, validator) as resp:
                if not _is_page(resp):
                    yield self.body(resp, offset)
                    return
                url = self.next_url(resp)
        raise Transient(f"Google Drive kept answering {self.name} with pages instead of the file")

    def file_id(self) -> str:
        if self._file_id is None:
            self._file_id = member_id(self.ref.id, self.name, self.timeout)
        return self._file_id

    def next_url(self, resp: requests.Response) -> str:
        """The download URL a Drive page leads to (the confirmation form), or the refusal it says."""
        text = resp.text
        problem = refusal(resp, text, self.name)
        if problem is not None:
            raise problem
        try:
            return get_url_from_gdrive_confirmation(text)
        except FileURLRetrievalError as exc:
            raise Refused(f"Google Drive would not serve {self.name}: {exc}") from None


def _is_page(resp: requests.Response) -> bool:
    return resp.headers.get("Content-Type", "").startswith("text/html")


def refusal(resp: requests.Response, text: str, name: str) -> Exception | None:
    """Refused for the quota, a missing sign-in or a missing file; Transient for overload; None for other pages."""
    if QUOTA.search(text):
        return Refused(
            f"Google Drive refuses {name} for now: too many users have viewed or downloaded it recently. Drive caps "
            "how often a shared file may be downloaded; the quota resets within 24 hours, so rerun later"
        )
    if urlparse(resp.url).hostname == "accounts.google.com":
        return Refused(f"Google Drive asks for a sign-in to serve {name}: it is not shared with 'Anyone with the link'")
    if resp.status_code == 404:
        return Refused(f"Google Drive has no such file ({name}); the link may have moved: check the catalog's url")
    if resp.status_code == 429 or resp.status_code >= 500:
        return Transient(f"Google Drive answered {resp.status_code} for {name}")
    return None


def member_id(folder_id: str, name: str, timeout: float) -> str:
    """The file id of ``name`` in a shared Drive folder, from gdown's folder listing."""
    try:
        files = gdown.download_folder(id=folder_id, skip_download=True, quiet=True, use_cookies=False, timeout=timeout)
    except requests.RequestException as exc:
        raise Transient(f"cannot list Drive folder {folder_id}: {exc}") from None
    except DownloadError as exc:
        raise Refused(f"Google Drive would not list the folder holding {name}: {exc}") from None
    found = {PurePosixPath(str(f.path)).name: str(f.id) for f in files if isinstance(f, GoogleDriveFileToDownload)}
    if name not in found:
        raise Refused(
            f"the Drive folder {folder_id} holds no file named {name!r} "
            f"(it holds: {', '.join(sorted(found)) or 'nothing'}); fix 'filename' in the catalog"
        )
    return found[name]


def remote(source: Source, options: FetchOptions) -> DriveRemote:
    return DriveRemote(parse(source.url), source.file_name, options)
