"""Sources as data: the built-in catalogs (``default``, ``sample``), user TOML catalogs, and their schema."""

from llavamix.catalog.schema import Catalog, Source, load_catalog, resolve_names

__all__ = ["Catalog", "Source", "load_catalog", "resolve_names"]
