"""Paths and URLs: a plain path stays local, a URL goes through fsspec to a real S3-compatible server."""

from __future__ import annotations

from pathlib import Path

import pytest

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.storage import is_url, open_target, parse_storage_options
from tests.s3server import S3


def test_urls_and_paths_are_told_apart() -> None:
    assert is_url("s3://bucket/mix.json") and is_url("gs://b/x") and is_url("https://host/mix.json")
    assert not is_url("data/mix.json") and not is_url("/abs/mix.json") and not is_url("file:///abs/mix.json")
    assert not is_url(Path("s3:/not-a-url"))


def test_storage_options_read_json_values_and_nest_dotted_keys() -> None:
    parsed = parse_storage_options(["anon=true", "client_kwargs.endpoint_url=http://127.0.0.1:9000", "n=8"])
    assert parsed == {"anon": True, "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}, "n": 8}
    with pytest.raises(ConfigError, match="is not KEY=VALUE"):
        parse_storage_options(["anon"])


def test_a_file_round_trips_through_the_s3_server(s3: S3, tmp_path: Path) -> None:
    with open_target(s3.url("dir/a.bin"), "wb") as fh:
        fh.write(b"hello object storage")
    with open_target(s3.url("dir/a.bin")) as fh:
        assert fh.read() == b"hello object storage"
    (tmp_path / "b.bin").write_bytes(b"local")
    with open_target(tmp_path / "b.bin") as fh:
        assert fh.read() == b"local"
