"""Fixtures for the catalog tests: the sample generator script and one fresh generation per test session."""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from pathlib import Path, PurePosixPath
from types import ModuleType
from urllib.parse import unquote, urlparse

import pytest

import llavamix.catalog
from llavamix.catalog import Catalog, Source, load_catalog

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
    """Every image file path under the data root that the catalog's archives and crawls produce."""
    out: set[str] = set()
    for src in catalog.sources:
        if src.kind == "ocrvqa":
            out |= _crawled_paths(src)
        if src.archive != "zip":
            continue
        with zipfile.ZipFile(_local_path(src)) as zf:
            names = [PurePosixPath(n) for n in zf.namelist() if not n.endswith("/")]
        landed = (n.name if src.kind == "sam" else str(n).removeprefix(src.strip) for n in names)
        out.update(str(PurePosixPath(src.into) / rel) for rel in landed)
    return out


def _crawled_paths(src: Source) -> set[str]:
    """The OCR-VQA keys whose (relative) image URL has a file behind it land as ``<into>/<key>.jpg``."""
    index = json.loads(_local_path(src).read_bytes())
    folder = _local_path(src).parent
    return {f"{src.into}/{key}.jpg" for key, entry in index.items() if (folder / entry["imageURL"]).is_file()}
