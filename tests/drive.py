"""A local imitation of Google Drive for tests, reached at Drive's real host names through a loopback HTTPS proxy.

Code under test runs unchanged: requests (and so gdown) honour ``HTTPS_PROXY`` and ``REQUESTS_CA_BUNDLE``, so
``drive_environment`` points them at a CONNECT proxy on 127.0.0.1 that terminates TLS with a throw-away certificate
for the Drive hosts and answers as Drive does: the ``uc`` redirect, the virus-scan confirmation form, the quota
page, the sign-in redirect of a file that is not shared, Range requests, and the embedded folder view that gdown
lists folders with. Every request is recorded.
"""

from __future__ import annotations

import html
import shutil
import socketserver
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

HOSTS = ("drive.google.com", "drive.usercontent.google.com", "docs.google.com", "accounts.google.com")
USERCONTENT = "https://drive.usercontent.google.com/download"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate (and key) for the Drive host names, made with the openssl command."""
    if shutil.which("openssl") is None:
        raise FileNotFoundError("the openssl command is needed to imitate Google Drive over HTTPS")
    cert, key = folder / "drive.pem", folder / "drive.key"
    names = ",".join(f"DNS:{h}" for h in HOSTS)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=drive.google.com",
         "-addext", f"subjectAltName={names}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class DriveFile:
    name: str
    data: bytes
    shared: bool = True


@dataclass
class Seen:
    host: str
    path: str
    query: dict[str, str]
    range: str | None


@dataclass
class Drive:
    """What the imitation serves; tests change it between calls (``quota.add(id)``...)."""

    files: dict[str, DriveFile] = field(default_factory=dict)
    folders: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # id -> (name, file ids)
    quota: set[str] = field(default_factory=set)  # file ids over their download quota
    confirm_over: int = 1000  # files larger than this get the virus-scan confirmation page first
    seen: list[Seen] = field(default_factory=list)

    def add(self, file_id: str, name: str, data: bytes, *, shared: bool = True) -> str:
        self.files[file_id] = DriveFile(name, data, shared)
        return file_id

    def downloads(self, file_id: str) -> list[Seen]:
        """Requests that asked for the file's bytes (not the pages before them)."""
        return [s for s in self.seen if s.path == "/download" and s.query.get("id") == file_id]


class _DriveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    drive: Drive

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        host = (self.headers.get("Host") or "").split(":")[0]
        self.drive.seen.append(Seen(host, parts.path, query, self.headers.get("Range")))
        route = {
            ("drive.google.com", "/uc"): self.uc,
            ("drive.google.com", "/embeddedfolderview"): self.folder,
            ("drive.usercontent.google.com", "/download"): self.download,
            ("accounts.google.com", "/ServiceLogin"): self.sign_in,
        }.get((host, parts.path))
        if route is None:
            return self.page(404, "Not Found", "<p>Not found.</p>")
        route(query)

    def uc(self, query: dict[str, str]) -> None:
        self.answer(303, b"", {"Location": f"{USERCONTENT}?{urlencode(query)}"})

    def folder(self, query: dict[str, str]) -> None:
        found = self.drive.folders.get(query.get("id", ""))
        if found is None:
            return self.page(404, "Not Found", "<p>Not found.</p>")
        name, ids = found
        links = "".join(
            f'<a href="https://drive.google.com/file/d/{i}/view?usp=drive_web" target="_blank">'
            f'<div class="flip-entry-title">{html.escape(self.drive.files[i].name)}</div></a>'
            for i in ids
        )
        self.page(200, name, f'<div class="flip-entries">{links}</div>')

    def download(self, query: dict[str, str]) -> None:
        file_id = query.get("id", "")
        file = self.drive.files.get(file_id)
        if file is None:
            return self.page(
                404, "Google Drive - Not Found", "<p>Sorry, the file you have requested does not exist.</p>"
            )
        if not file.shared:
            return self.answer(302, b"", {"Location": "https://accounts.google.com/ServiceLogin?continue=drive"})
        if file_id in self.drive.quota:
            return self.page(403, "Google Drive - Quota exceeded", _QUOTA)
        if len(file.data) > self.drive.confirm_over and query.get("confirm") != "t":
            return self.page(200, "Google Drive - Virus scan warning", _confirm_form(file_id, file))
        self.serve(file)

    def sign_in(self, query: dict[str, str]) -> None:
        self.page(200, "Sign in - Google Accounts", "<p>Sign in to continue to Google Drive.</p>")

    def serve(self, file: DriveFile) -> None:
        data, status = file.data, 200
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes",
                   "Content-Disposition": f'attachment; filename="{file.name}"'}  # fmt: skip
        wanted = self.headers.get("Range", "")
        if wanted.startswith("bytes=") and wanted.endswith("-"):
            first = int(wanted[6:-1])
            headers["Content-Range"] = f"bytes {first}-{len(data) - 1}/{len(data)}"
            data, status = data[first:], 206
        self.answer(status, data, headers)

    def page(self, status: int, title: str, body: str) -> None:
        # one line, as Drive sends them: gdown reads its confirmation form line by line
        text = f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"
        self.answer(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def answer(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


_QUOTA = (
    '<p class="uc-error-caption">Sorry, you can\'t view or download this file at this time.</p>'
    '<p class="uc-error-subcaption">Too many users have viewed or downloaded this file recently. Please try '
    "accessing the file again later.</p>"
)


def _confirm_form(file_id: str, file: DriveFile) -> str:
    fields = {"id": file_id, "export": "download", "confirm": "t", "uuid": "0f1e2d3c-aaaa-bbbb-cccc-123456789abc"}
    hidden = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    return (
        f'<p class="uc-warning-subcaption">Google Drive can\'t scan {html.escape(file.name)} for viruses.</p>'
        f'<form id="download-form" action="{USERCONTENT}" method="get">'
        f'<input type="submit" value="Download anyway">{hidden}</form>'
    )


class _Tunnel(socketserver.BaseRequestHandler):
    """Answers CONNECT, then speaks TLS as the requested Drive host and serves the imitation over it."""

    server: _ProxyServer

    def handle(self) -> None:
        raw = self.request.makefile("rb", buffering=0)  # unbuffered: not one byte of the TLS handshake is eaten
        line = raw.readline()
        while raw.readline() not in (b"\r\n", b"\n", b""):
            pass
        if not line.startswith(b"CONNECT "):
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        try:
            tls = self.server.context.wrap_socket(self.request, server_side=True)
            handler = type("Handler", (_DriveHandler,), {"drive": self.server.drive})
            handler(tls, self.client_address, self.server)
        except (ssl.SSLError, OSError):
            pass  # the client hung up


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, drive: Drive, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.drive, self.context = drive, context


class DriveProxy:
    """``with DriveProxy(drive, cert, key) as proxy:`` then route HTTPS through ``proxy.url``."""

    def __init__(self, drive: Drive, cert: Path, key: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server = _ProxyServer(drive, context)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> DriveProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def drive_environment(proxy: DriveProxy, cert: Path) -> dict[str, str]:
    """Environment variables that send requests' HTTPS traffic to the imitation and make it trust its certificate."""
    env = {"REQUESTS_CA_BUNDLE": str(cert), "CURL_CA_BUNDLE": str(cert), "NO_PROXY": "", "no_proxy": ""}
    env.update({"HTTPS_PROXY": proxy.url, "https_proxy": proxy.url})
    return env
