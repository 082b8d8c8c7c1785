"""A real S3-compatible server on loopback (moto's server mode) for the tests that read and write ``s3://`` URLs
through the real s3fs/botocore client path: credentials and the endpoint come from the standard environment."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class S3:
    endpoint: str
    bucket: str

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key.lstrip('/')}"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    """A fresh bucket on a moto server started for the test; the environment points every client at it (also in
    subprocesses the test starts)."""
    server_mod = pytest.importorskip("moto.server", reason="pip install 'moto[server]'")
    pytest.importorskip("s3fs", reason="pip install 'llavamix[s3]'")
    import boto3

    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    # moto keeps its buckets in the process across servers: start each test from an empty store
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).close()
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="mixes")
    # fsspec caches one filesystem per set of options: one made for an earlier test's server would be reused
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    try:
        yield S3(endpoint, "mixes")
    finally:
        server.stop()
