"""Fixtures for the catalog tests: the sample generator script and one fresh generation per test session."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path, PurePosixPath
from types import ModuleType
from urllib.parse import unquote, urlparse

import pytest

import llavamix.catalog
from llavamix.catalog import Catalog, Source, load_catalog
from llavamix.layout import PREFIX_SOURCES

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_sample.py"
PACKAGE_CATALOG = Path(llavamix.catalog.__file__).parent


@pytest.fixture(scope="session")
def make_sample() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sample", SCRIPT)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def fresh_dir(make_sample: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog folder holding a fresh generation: ``sample.toml`` and ``sample/``."""
    out = tmp_path_factory.mktemp("fresh")
    make_sample.build(out)
    return out


@pytest.fixture(scope="session")
def sample() -> Catalog:
    return load_catalog("sample")


@pytest.fixture(scope="session")
def sample_images(sample: Catalog) -> set[str]:
    """Every image path under the data root that the shipped sample provides."""
    return _landed_paths(sample)


def _local_path(src: Source) -> Path:
    return Path(unquote(urlparse(src.url).path))


def _landed_paths(catalog: Catalog) -> set[str]:
    """Every image file path under the data root that the catalog's archives produce (plus pending images)."""
    out: set[str] = set()
    for src in catalog.sources:
        if src.archive != "zip":
            continue
        with zipfile.ZipFile(_local_path(src)) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
        out.update(str(PurePosixPath(src.into) / n.removeprefix(src.strip)) for n in names)
    return out | _pending_paths(catalog.path.parent)


def _pending_paths(catalog_dir: Path) -> set[str]:
    """Images of sources without a sample archive yet: ``sample/_pending/<source>/<file>`` lands in their prefix."""
    prefix_of = {source: prefix for prefix, source in PREFIX_SOURCES.items()}
    pending = catalog_dir / "sample" / "_pending"
    return {f"{prefix_of[p.parent.name]}/{p.name}" for p in pending.glob("*/*")}
