"""Catalog schema and loader: one ``[[source]]`` table per download, validated with clear errors.

Errors name the file, the source and the key, because a user editing a TOML needs exactly that.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import unquote, urlparse

import msgspec

from llavamix.catalog.kinds import ARCHIVE, kind_problem
from llavamix.catalog.needs import needs_problem, waits_for, with_needs
from llavamix.foundation.errors import ConfigError
from llavamix.foundation.layout import component_problem, escape_problem

BUILTIN = {"default": "sources.toml", "sample": "sample.toml"}
SCHEMES = ("http", "https", "file", "hf", "gdrive")
ArchiveKind = Literal["zip", "tar", "tar.gz", "none"]
# '..' anywhere in a folder value is refused, even where it stays inside lexically: 'a/../b' resolves through
# whatever 'a' links to
_DOTDOT = "contains '..'"


class Source(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One download and where its contents land under the data root."""

    name: str
    url: str
    into: str
    title: str = ""
    size: int | None = None  # exact: the download must have it
    approx_size: int | None = None  # as published, approximate: for the plan only, never checked
    approx_extracted: int | None = None  # what laying it out writes, approximate (a crawl's images)
    md5: str | None = None
    sha256: str | None = None
    archive: ArchiveKind = "none"
    strip: str = ""
    images: int | None = None
    kind: str = ARCHIVE.name  # the recipe, one of kinds.KINDS
    filename: str = ""  # name in the downloads folder; default: the URL's last path component
    groups: list[str] = []
    academic_only: bool = False
    needs: list[str] = []  # sources laid out before this one
    needs_one_of: list[str] = []  # alternatives: one of them laid out before this one (the first if none is chosen)
    image_prefixes: list[str] = []  # leading folders of the mix JSON's image paths that this source provides
    spellings: list[tuple[str, str]] = []  # top-level folders known under two names (the mix may use either)
    mirror: str = ""  # a zip of the images a crawl would fetch, laid out first (kind ocrvqa): the crawl fills the rest

    @property
    def file_name(self) -> str:
        return self.filename or PurePosixPath(unquote(urlparse(self.url).path)).name or self.name

    @property
    def scheme(self) -> str:
        return urlparse(self.url).scheme

    @property
    def checksum(self) -> tuple[str, str] | None:
        """``(algo, hexdigest)`` the download must match, strongest first, or None."""
        if self.sha256:
            return ("sha256", self.sha256.lower())
        if self.md5:
            return ("md5", self.md5.lower())
        return None


class _CatalogFile(msgspec.Struct, forbid_unknown_fields=True):
    source: list[Any] = []
    hosts: dict[str, int] = {}


@dataclass(frozen=True)
class GroupSize:
    """A group's downloads added up: ``approximate`` when a published approximate figure is in the sum, and the
    sources whose size the catalog does not give (``unknown``), left out of it."""

    size: int
    approximate: bool
    unknown: list[str]


@dataclass(frozen=True)
class Catalog:
    """A validated set of sources; ``hosts`` caps parallel connections per host name."""

    path: Path
    sources: tuple[Source, ...]
    hosts: dict[str, int]

    def __getitem__(self, name: str) -> Source:
        for src in self.sources:
            if src.name == name:
                return src
        raise ConfigError(_unknown_name(name, self))

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sources]

    @property
    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for src in self.sources:
            for g in src.groups:
                out.setdefault(g, []).append(src.name)
        return out

    @property
    def prefix_sources(self) -> dict[str, str]:
        """Image prefix -> the source that provides it (each prefix belongs to one source)."""
        return {prefix: s.name for s in self.sources for prefix in s.image_prefixes}

    @property
    def spellings(self) -> list[tuple[str, str]]:
        """Every pair of folder names that mean one folder, over all sources."""
        return [pair for s in self.sources for pair in s.spellings]

    def group_sizes(self) -> dict[str, GroupSize]:
        """Each group's download size: exact and approximate figures added up, the sources of unknown size named."""
        out: dict[str, GroupSize] = {}
        for group, names in self.groups.items():
            members = [self[n] for n in names]
            known = [s.size if s.size is not None else s.approx_size for s in members]
            out[group] = GroupSize(
                sum(k for k in known if k is not None),
                any(s.size is None and s.approx_size is not None for s in members),
                [s.name for s, k in zip(members, known, strict=True) if k is None],
            )
        return out

    def host_limit(self, host: str, default: int) -> int:
        return self.hosts.get(host, default)

    def with_needs(self, chosen: list[Source]) -> list[Source]:
        """``chosen`` and the sources they need, directly or not, in catalog order."""
        return with_needs(self.sources, chosen)

    @staticmethod
    def waits_for(src: Source) -> list[str]:
        """The sources ``src`` runs after when they are in the same run."""
        return waits_for(src)


def _unknown_name(name: str, catalog: Catalog) -> str:
    known = catalog.names + sorted(catalog.groups)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no source or group named {name!r} in {catalog.path}{hint} (known: {', '.join(known)})"


def resolve_names(catalog: Catalog, names: list[str] | tuple[str, ...]) -> list[Source]:
    """Expand source and group names (none = every source) to sources, in catalog order, without duplicates."""
    if not names:
        return list(catalog.sources)
    groups = catalog.groups
    wanted: set[str] = set()
    for name in names:
        wanted.update(groups[name] if name in groups else [catalog[name].name])
    return [s for s in catalog.sources if s.name in wanted]


def catalog_path(spec: str | Path) -> Path:
    """A built-in catalog name or a path to a TOML file -> the file's path."""
    if str(spec) in BUILTIN:
        # plain files beside this module (the sample's archives are served from this folder too); not
        # importlib.resources, whose import every command's start-up would pay for
        return Path(__file__).with_name(BUILTIN[str(spec)])
    path = Path(spec)
    if path.is_dir():
        raise ConfigError(
            f"catalog {spec!r} is a folder; pass a catalog TOML file or a built-in ({', '.join(BUILTIN)})"
        )
    if not path.is_file():
        raise ConfigError(f"catalog {spec!r} is neither a built-in ({', '.join(BUILTIN)}) nor an existing file")
    return path


def load_catalog(spec: str | Path = "default") -> Catalog:
    """Load and validate a catalog; relative ``file:`` URLs resolve against the catalog's folder."""
    path = catalog_path(spec)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: cannot read catalog: not UTF-8 text; save it as UTF-8 TOML") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read catalog: {exc}") from None
    try:
        top = msgspec.convert(data, _CatalogFile)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {exc} (allowed top-level keys: source, hosts)") from None
    sources = tuple(_source(path, i, table) for i, table in enumerate(data.get("source", [])))
    if not sources:
        raise ConfigError(f"{path}: the catalog has no sources; add [[source]] tables (see docs/catalog.md)")
    _check_unique(path, sources)
    _check_prefix_owners(path, sources)
    problem = needs_problem(sources)
    if problem:
        raise ConfigError(f"{path}: {problem}")
    return Catalog(path=path, sources=sources, hosts=dict(top.hosts))


@functools.cache
def known_prefixes() -> Mapping[str, str]:
    """Image prefix -> source name in the default catalog: how verify, stats and pack, which read a mix and no
    catalog, name the source of an image path."""
    return MappingProxyType(load_catalog("default").prefix_sources)


def _source(path: Path, index: int, table: object) -> Source:
    label = table.get("name", f"#{index + 1}") if isinstance(table, dict) else f"#{index + 1}"
    try:
        src = msgspec.convert(table, Source)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: source {label!r}: {_explain(exc)}") from None
    problem = _check_values(src) or kind_problem(src)
    if problem:
        raise ConfigError(f"{path}: source {label!r}: {problem}")
    return _resolve_file_url(path, src)


def _explain(exc: msgspec.ValidationError) -> str:
    msg = str(exc)
    if "unknown field" in msg:
        allowed = ", ".join(f for f in Source.__struct_fields__)
        return f"{msg} (allowed keys: {allowed})"
    return msg


def _check_values(src: Source) -> str | None:
    problem = _check_url("url", src.url) or (_check_url("mirror", src.mirror) if src.mirror else None)
    if problem:
        return problem
    scheme = src.scheme
    if scheme == "gdrive" and not src.filename:
        return f"url {src.url!r}: Drive links carry no file name; add filename = <the file's name on Drive>"
    if src.md5 and not _is_hex(src.md5, 32):
        return f"md5 {src.md5!r} is not 32 hex digits"
    if src.sha256 and not _is_hex(src.sha256, 64):
        return f"sha256 {src.sha256!r} is not 64 hex digits"
    for key in ("size", "approx_size", "approx_extracted"):
        value = getattr(src, key)
        if value is not None and value < 0:
            return f"{key} {value} is negative"
    return _check_paths(src)


def _check_url(key: str, url: str) -> str | None:
    scheme = urlparse(url).scheme
    if scheme not in SCHEMES:
        return f"{key} {url!r} has scheme {scheme or 'none'!r}; use one of {', '.join(s + '://' for s in SCHEMES)}"
    if scheme == "hf" and not url.startswith("hf://datasets/"):
        return f"{key} {url!r}: Hub URLs look like hf://datasets/<owner>/<repo>/<path>"
    return None


def _check_paths(src: Source) -> str | None:
    """Values that become paths: names stay one component, folders stay inside the data root. The layout refuses
    them again where they are joined; this check names the key while the user is looking at the catalog."""
    names = [("name", src.name)] + ([("filename", src.filename)] if src.filename else [])
    for key, value in names:
        problem = component_problem(value)
        if problem is not None:
            return f"{key} {value!r} {problem}; use a plain name such as 'coco.zip'"
    if component_problem(src.file_name) is not None:
        return f"url {src.url!r} ends in {src.file_name!r}, which is no file name; add filename = <a plain name>"
    folders = [("into", src.into)] + ([("strip", src.strip)] if src.strip else [])  # strip = "": nothing removed
    folders += [("image_prefixes", value) for value in src.image_prefixes]
    for key, value in folders:
        problem = escape_problem(value) or (_DOTDOT if ".." in PurePosixPath(value).parts else None)
        if problem is not None:
            return f"{key} {value!r} {problem}; it must be a relative folder inside the data root"
    return _check_prefixes(src) or _check_spellings(src)


def _check_prefixes(src: Source) -> str | None:
    """Prefixes are compared as text with the mix's image paths: each must be written as they are."""
    for value in src.image_prefixes:
        if PurePosixPath(value).as_posix() != value or value == ".":
            return (
                f"image_prefixes value {value!r} is not a plain folder path; "
                "write it as the mix's image paths begin, e.g. 'coco/train2017'"
            )
    return None


def _check_spellings(src: Source) -> str | None:
    for pair in src.spellings:
        problem = next((p for p in map(component_problem, pair) if p), None)
        if problem is not None or pair[0] == pair[1]:
            return (
                f"spellings {list(pair)!r}: each pair names two different top-level folders, e.g. ['chartqa', 'chatqa']"
            )
    return None


def _is_hex(s: str, n: int) -> bool:
    return len(s) == n and all(c in "0123456789abcdefABCDEF" for c in s)


def _resolve_file_url(path: Path, src: Source) -> Source:
    """Relative ``file:`` URLs (``url``, ``mirror``) resolved against the catalog's folder."""
    return msgspec.structs.replace(src, url=_resolved(path, src.url), mirror=_resolved(path, src.mirror))


def _resolved(path: Path, url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme != "file" or url.startswith("file://"):
        return url
    return (path.parent / unquote(parsed.path)).resolve().as_uri()


def _check_unique(path: Path, sources: tuple[Source, ...]) -> None:
    seen: set[str] = set()
    for src in sources:
        if src.name in seen:
            raise ConfigError(f"{path}: source name {src.name!r} appears twice; names must be unique")
        seen.add(src.name)


def _check_prefix_owners(path: Path, sources: tuple[Source, ...]) -> None:
    owner: dict[str, str] = {}
    for src in sources:
        for prefix in src.image_prefixes:
            if owner.setdefault(prefix, src.name) != src.name:
                raise ConfigError(
                    f"{path}: image prefix {prefix!r} is claimed by sources {owner[prefix]!r} and {src.name!r}; "
                    "each prefix names the one source that provides it"
                )
