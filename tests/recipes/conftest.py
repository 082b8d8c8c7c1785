"""Fixtures for the recipe tests: a loopback server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.httpserver import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv
