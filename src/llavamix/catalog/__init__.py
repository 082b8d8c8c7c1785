"""Sources as data: the built-in catalogs (``default``, ``sample``), user TOML catalogs, their schema, and the
registry of source kinds they are checked against (``kinds``). Imports only the foundation."""

from llavamix.catalog.kinds import KINDS, Kind, kind_of
from llavamix.catalog.schema import Catalog, GroupSize, Source, known_prefixes, load_catalog, resolve_names

__all__ = [
    "KINDS",
    "Catalog",
    "GroupSize",
    "Kind",
    "Source",
    "kind_of",
    "known_prefixes",
    "load_catalog",
    "resolve_names",
]
