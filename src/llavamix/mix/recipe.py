"""The mix recipe (``llavamix mix build RECIPE.toml``): its TOML read into dataclasses and every value checked,
so that a mistake is a ConfigError before any record is read."""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlparse

import msgspec

from llavamix.catalog import load_catalog
from llavamix.foundation.errors import ConfigError
from llavamix.foundation.extras import require
from llavamix.foundation.layout import component_problem, escape_problem

Action = Literal["keep", "drop", "cap", "weight"]
DedupKey = Literal["id", "text", "image_bytes", "phash"]
URL_SCHEMES = ("http", "https")


class Input(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One input mix: a JSON array or JSONL file (a path, or an http(s) URL) and the folder its images are under."""

    name: str
    path: str
    root: str = "."
    image_prefix: str = ""  # prepended to this input's image paths in the output
    verify_report: str = ""  # drop the records this verify report gives an error

    @property
    def is_url(self) -> bool:
        return urlparse(self.path).scheme in URL_SCHEMES


class Select(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Which records (every condition given must hold) and what to do with them."""

    action: Action
    input: str | None = None
    image_prefix: str | None = None
    source: str | None = None  # a catalog source: its image prefixes
    text_only: bool | None = None
    id_pattern: str | None = None  # a regular expression the whole id (as text) must match
    count: int | None = None
    fraction: float | None = None
    repeat: bool = True  # weight: may a record appear more than once

    def describe(self) -> str:
        conds = [f"{k}={v!r}" for k in _CONDITIONS if (v := getattr(self, k)) is not None]
        size = f" {self.count}" if self.count is not None else f" x{self.fraction}" if self.fraction else ""
        return f"{self.action}{size} " + (" ".join(conds) or "(all records)")


_CONDITIONS = ("input", "image_prefix", "source", "text_only", "id_pattern")


class Filter(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Records that fail any of these are left out before the selects (and before dedup)."""

    verify_report: str = ""  # the one input's verify report (with several inputs, set it on each [[input]])
    min_length: int | None = None  # the sampler's length: words, +128 with an image
    max_length: int | None = None
    min_tokens: int | None = None  # estimated tokens: anyres visual tokens + text
    max_tokens: int | None = None
    has_image: bool | None = None

    @property
    def reads_images(self) -> bool:
        return self.min_tokens is not None or self.max_tokens is not None


class Dedup(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Records whose key equals an earlier kept record's are left out (first occurrence wins)."""

    by: list[DedupKey] = []
    phash_distance: int = 0  # phash: at most this many differing bits of the 64 count as the same image


class Recipe(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    seed: int = 0
    root: str = ""  # the image root of the output (verified against); default: the first input's root
    catalog: str = "default"  # the catalog whose sources ``source =`` names
    input: list[Input] = []
    select: list[Select] = []
    filter: Filter = Filter()
    dedup: Dedup = Dedup()


class LoadedRecipe(msgspec.Struct, frozen=True, kw_only=True):
    """A checked recipe, with what it names resolved: relative paths against the recipe's folder, catalog
    sources to their image prefixes."""

    path: Path
    sha256: str
    recipe: Recipe
    folder: Path
    source_prefixes: dict[str, list[str]]

    def local(self, value: str) -> Path:
        return self.folder / value

    def verify_report(self, index: int) -> Path | None:
        """The verify report of input ``index`` (its own, or the filter's when the recipe has one input)."""
        value = self.recipe.input[index].verify_report or (self.recipe.filter.verify_report if index == 0 else "")
        return self.local(value) if value else None

    @property
    def output_root(self) -> Path:
        return self.local(self.recipe.root or self.recipe.input[0].root)


def load_recipe(path: Path) -> LoadedRecipe:
    """Read and check the recipe at ``path``; ConfigError naming the key, the value and what to do."""
    data = _read_toml(path)
    try:
        recipe = msgspec.convert(data, Recipe)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"recipe {path}: {_explain(exc)}") from None
    folder = path.parent
    prefixes = _source_prefixes(path, recipe)
    loaded = LoadedRecipe(
        path=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        recipe=recipe,
        folder=folder,
        source_prefixes=prefixes,
    )
    for problem in _problems(loaded):
        raise ConfigError(f"recipe {path}: {problem}")
    return loaded


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"recipe {path}: not UTF-8 text; save it as UTF-8 TOML") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"recipe {path}: cannot read it: {exc}") from None


_TABLES: dict[str, type[msgspec.Struct]] = {
    "$": Recipe,
    "input": Input,
    "select": Select,
    "filter": Filter,
    "dedup": Dedup,
}


def _explain(exc: msgspec.ValidationError) -> str:
    """msgspec's message, with the keys allowed where an unknown one was found (and the nearest one)."""
    msg = str(exc)
    if msg.startswith("Invalid enum value"):
        values = get_args(DedupKey) if ".dedup." in msg else get_args(Action)
        return f"{msg} (allowed: {', '.join(values)})"
    found = re.search(r"unknown field `([^`]*)`(?: - at `\$\.?(\w*)[^`]*`)?", msg)
    if found is None:
        return msg
    table = _TABLES[found.group(2) or "$"]
    allowed = list(table.__struct_fields__)
    near = difflib.get_close_matches(found.group(1), allowed, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return f"{msg}{hint} (allowed keys: {', '.join(allowed)})"


def _source_prefixes(path: Path, recipe: Recipe) -> dict[str, list[str]]:
    names = {s.source for s in recipe.select if s.source is not None}
    if not names:
        return {}
    catalog = load_catalog(_catalog_spec(path, recipe.catalog))
    prefixes = {s.name: list(s.image_prefixes) for s in catalog.sources}
    for name in sorted(names):
        if not prefixes.get(name):
            known = ", ".join(sorted(n for n, p in prefixes.items() if p))
            raise ConfigError(
                f"recipe {path}: select source {name!r} names no catalog source with image prefixes; "
                f"use one of: {known}"
            )
    return {name: prefixes[name] for name in names}


def _catalog_spec(path: Path, spec: str) -> str | Path:
    return spec if spec in ("default", "sample") else path.parent / spec


def _problems(loaded: LoadedRecipe) -> list[str]:
    recipe = loaded.recipe
    if not recipe.input:
        return ["no [[input]]; add at least one: name, path (a mix JSON or JSONL) and root (its images' folder)"]
    found = [p for i in recipe.input for p in _input_problems(loaded, i)]
    found += _name_problems(recipe)
    names = [i.name for i in recipe.input]
    found += [
        f"select #{n} ({s.describe()}): {p}" for n, s in enumerate(recipe.select, 1) for p in _select_problems(s, names)
    ]
    found += _filter_problems(loaded) + _dedup_problems(recipe.dedup)
    return found


def _input_problems(loaded: LoadedRecipe, item: Input) -> list[str]:
    where = f"input {item.name!r}"
    found = []
    if not item.is_url and not loaded.local(item.path).is_file():
        found.append(
            f"{where}: path {item.path!r} is not a file ({loaded.local(item.path)}); give a mix JSON "
            "or JSONL file (relative to the recipe's folder), or an http(s):// URL"
        )
    if item.image_prefix and escape_problem(item.image_prefix):
        found.append(
            f"{where}: image_prefix {item.image_prefix!r} {escape_problem(item.image_prefix)}; "
            "give a relative folder such as 'extra/'"
        )
    found += _missing_report(loaded, where, item.verify_report, f"{item.path} --root {item.root}")
    return found


def _missing_report(loaded: LoadedRecipe, where: str, report: str | None, verified: str) -> list[str]:
    """The problem of a ``verify_report`` that is not a file, with the command that makes it (``verified``: what
    that command verifies, ``MIX --root ROOT``)."""
    if not report or loaded.local(report).is_file():
        return []
    return [
        f"{where}: verify_report {report!r} is not a file; make it with llavamix verify {verified} --report {report}"
    ]


def _name_problems(recipe: Recipe) -> list[str]:
    found, seen = [], set()
    for item in recipe.input:
        problem = component_problem(item.name)
        if problem:
            found.append(f"input name {item.name!r} {problem}")
        if item.name in seen:
            found.append(f"input name {item.name!r} is used twice; give each input its own name")
        seen.add(item.name)
    return found


def _select_problems(select: Select, inputs: list[str]) -> list[str]:
    found = _size_problems(select)
    if select.input is not None and select.input not in inputs:
        found.append(f"input {select.input!r} is not an [[input]] name; use one of: {', '.join(inputs)}")
    if select.id_pattern is not None:
        try:
            re.compile(select.id_pattern)
        except re.error as exc:
            found.append(f"id_pattern {select.id_pattern!r} is not a regular expression: {exc}")
    return found


def _size_problems(select: Select) -> list[str]:
    has_count, has_fraction = select.count is not None, select.fraction is not None
    if select.action in ("keep", "drop") and (has_count or has_fraction):
        return [f"{select.action} takes no count or fraction; use cap or weight to change how many"]
    if select.action == "cap" and (not has_count or has_fraction):
        return ["cap needs count = N (the most records kept) and no fraction"]
    if select.action == "weight" and has_count == has_fraction:
        return ["weight needs either count = N (exactly N records) or fraction = F (F times the matched records)"]
    if has_count and select.count is not None and select.count < 0:
        return [f"count {select.count} is negative; give 0 or more"]
    if has_fraction and select.fraction is not None and not select.fraction > 0:
        return [f"fraction {select.fraction} must be above 0 (use drop to leave records out)"]
    return []


def _filter_problems(loaded: LoadedRecipe) -> list[str]:
    flt, found = loaded.recipe.filter, []
    for low, high in (("min_length", "max_length"), ("min_tokens", "max_tokens")):
        lo, hi = getattr(flt, low), getattr(flt, high)
        if lo is not None and hi is not None and lo > hi:
            found.append(f"filter: {low} {lo} is above {high} {hi}; no record could pass")
    if flt.verify_report and len(loaded.recipe.input) > 1:
        found.append(
            "filter: verify_report names one input's report, but the recipe has several inputs; "
            "set verify_report on each [[input]] instead"
        )
    else:
        found += _missing_report(loaded, "filter", flt.verify_report, "MIX --root ROOT")
    return found


def _dedup_problems(dedup: Dedup) -> list[str]:
    if not 0 <= dedup.phash_distance < 32:
        return [f"dedup: phash_distance {dedup.phash_distance} must be between 0 and 31 (bits of 64)"]
    if "phash" in dedup.by:
        require("imagehash")  # MissingExtra naming the extra, before any record is read
    return []
