"""A package's public names imported on first use, so importing the package costs nothing (PEP 562).

The command line imports every stage to register its commands; the stages' own imports (download clients,
image decoders, Arrow) are paid for only by the command that runs them. A package lists its names once, as the
imports of its ``if TYPE_CHECKING:`` block: type checkers read them there, and ``lazy_exports`` makes each one on
first use (as SPEC 1's lazy loaders read a package's stub file).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def lazy_exports(package: str) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """The ``__getattr__``, ``__dir__`` and ``__all__`` of ``package`` (called from its ``__init__``): each name its
    ``if TYPE_CHECKING:`` block imports is imported from there the first time it is asked for, and those names are
    the package's public ones (listed once, in that block)."""
    module = sys.modules[package]
    home = checked_imports(Path(str(module.__file__)).read_text(encoding="utf-8"))

    def __getattr__(name: str) -> Any:
        source = home.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # the import statement's own path (importlib.import_module bypasses it), so ``python -X importtime``
        # shows what a command imported on first use
        __import__(source)
        value = getattr(sys.modules[source], name)
        setattr(module, name, value)  # kept, so the next look-up is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(module), *home})

    return __getattr__, __dir__, sorted(home)


def checked_imports(source: str) -> dict[str, str]:
    """``{name: module}`` for each ``from module import name`` (absolute, as this project writes imports) in the
    ``if TYPE_CHECKING:`` block of ``source``, the code of a package's ``__init__``."""
    names: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
                    names.update({alias.asname or alias.name: stmt.module for alias in stmt.names})
    return names
