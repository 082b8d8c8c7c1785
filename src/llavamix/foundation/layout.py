"""Every on-disk path llavamix reads or writes under the data root, in one place.

The tree is the one the Open-LLaVA-NeXT training scripts read with ``--image_folder data``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from llavamix.foundation.errors import UnsafePathError

STATE_DIR = ".llavamix"

MIX_JSON = PurePosixPath("open-llava-next/open-llava-next_instruct_mix1M.json")
MIX_ALIAS_DIR = "llava-next"  # the finetune scripts read data/llava-next/...
PRETRAIN_JSON = PurePosixPath("llava/llava_pretrain/blip_laion_cc_sbu_558k.json")
PRETRAIN_ADD_PATH_JSON = PurePosixPath("llava/llava_pretrain/blip_laion_cc_sbu_558k_add-path.json")
PRETRAIN_IMAGES = PurePosixPath("llava/llava_pretrain/images")


def image_prefix(image: str, prefixes: Iterable[str]) -> str:
    """The longest of ``prefixes`` (folders, e.g. the catalog's ``image_prefixes``) that a mix ``image`` path lies
    under, else its first component (``'?'`` if none)."""
    best = ""
    for prefix in prefixes:
        if image.startswith(prefix + "/") and len(prefix) > len(best):
            best = prefix
    if best:
        return best
    head, sep, _ = image.partition("/")
    return head if sep else "?"


def escape_problem(value: str) -> str | None:
    """Why the relative path ``value`` would leave the folder it is joined to, or None when it stays inside.

    The check is lexical, as training joins paths (``os.path.join(image_folder, image)``): an absolute path, a
    ``..`` that climbs above the base, an empty value or a NUL byte is refused. Symbolic links below the base are
    followed on purpose (``data/coco`` may link to a shared disk); readers guard the far end by accepting only
    regular files (``io.open_regular``).
    """
    if not value:
        return "is empty"
    if "\0" in value:
        return "contains a NUL byte"
    if value.startswith("/"):
        return "is an absolute path"
    norm = posixpath.normpath(value)
    if norm == ".." or norm.startswith("../"):
        return "climbs out of its folder with '..'"
    return None


def inside(base: Path, value: str, *, what: str) -> Path:
    """``base / value``, refusing (UnsafePathError naming ``what`` and the value) anything that escapes ``base``."""
    problem = escape_problem(value)
    if problem is not None:
        raise UnsafePathError(f"{what} {value!r} {problem}; it must be a path inside {base}")
    return base / value


def component_problem(value: str) -> str | None:
    """Why ``value`` is not one plain file or folder name (no separator, not ``.``/``..``), or None."""
    if value in ("", ".", ".."):
        return "is not a file name"
    if "/" in value or "\\" in value or "\0" in value:
        return "must be one name, without '/', '\\' or NUL"
    return None


def _one_name(value: str, *, what: str) -> str:
    """``value`` if it is one plain file or folder name, else UnsafePathError naming ``what`` and the value."""
    problem = component_problem(value)
    if problem is not None:
        raise UnsafePathError(f"{what} {value!r} {problem}; it names one file or folder of llavamix's own")
    return value


@dataclass(frozen=True)
class Layout:
    """Paths under one data root; ``downloads`` defaults to ``ROOT/.llavamix/downloads``.

    Every method that joins a catalog value or a record's image path refuses (UnsafePathError) a value that would
    leave its base, whatever validated it before: the catalog checks its values when it loads, and this is the
    one place they become paths.
    """

    root: Path
    downloads: Path | None = None

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    @property
    def downloads_dir(self) -> Path:
        return self.downloads if self.downloads is not None else self.state / "downloads"

    @property
    def lock(self) -> Path:
        """The lock a run that writes under this root holds (``llavamix.foundation.lock``): one writer per root."""
        return self.state / "lock"

    @property
    def downloads_lock(self) -> Path:
        """Held with ``lock``: one downloads folder may serve several roots (``--downloads``)."""
        return self.downloads_dir / ".llavamix.lock"

    def download_path(self, source: str, filename: str) -> Path:
        """Where a source's downloaded file lives (and where a user may drop it by hand)."""
        return self.downloads_dir / _one_name(source, what="source name") / _one_name(filename, what="file name")

    def target(self, into: str) -> Path:
        return inside(self.root, into, what="into")

    def marker(self, source: str, stage: str) -> Path:
        """Completion marker written last by ``stage`` for ``source``; its presence means done."""
        return self.state / "done" / f"{_one_name(source, what='source name')}.{stage}"

    def staging(self, source: str) -> Path:
        """Scratch folder for a source's in-progress extraction (same filesystem as the root)."""
        return self.state / "staging" / _one_name(source, what="source name")

    def report(self, name: str) -> Path:
        return self.state / "reports" / name

    def cache(self, name: str) -> Path:
        """A cache file a stage may delete and rebuild at any time (e.g. verify's per-image results)."""
        return self.state / "cache" / name

    def image(self, relpath: str) -> Path:
        """The file a mix ``image`` value points at, joined as training joins it (``os.path.join(image_folder,
        image)``); a path that is absolute or climbs out of the root is refused (see ``escape_problem``)."""
        return inside(self.root, relpath, what="image path")
