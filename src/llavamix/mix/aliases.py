"""Folder aliases (``llava-next`` -> ``open-llava-next``): a relative symlink, or a copy where links are unavailable."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.layout import inside

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alias:
    """``link`` (relative to the data root) now resolves to ``target``; ``how`` says what was done."""

    link: str
    target: str
    how: Literal["symlink", "copy", "exists"]


def make_alias(root: Path, link: str, target: str) -> Alias:
    """Make ``root/link`` point at ``root/target`` (both relative to the root, UnsafePathError if either would
    leave it); idempotent.

    An existing ``link`` that already resolves to ``target`` is left alone; one that is a different real
    folder is an error, because silently replacing user data is worse than asking.
    """
    link_path, target_path = inside(root, link, what="alias"), inside(root, target, what="alias target")
    if not target_path.exists():
        raise ConfigError(f"cannot alias {link!r}: its target {target_path} does not exist")
    if link_path.is_symlink() or link_path.exists():
        if link_path.resolve() == target_path.resolve():
            return Alias(link, target, "exists")
        raise ConfigError(
            f"{link_path} exists and is not an alias of {target_path}; move it away and rerun to create the alias"
        )
    link_path.parent.mkdir(parents=True, exist_ok=True)
    relative = os.path.relpath(target_path, link_path.parent)
    try:
        link_path.symlink_to(relative, target_is_directory=target_path.is_dir())
        return Alias(link, target, "symlink")
    except OSError as exc:  # filesystems without symlinks (some network mounts, Windows without privileges)
        log.info("symlink %s -> %s failed (%s); copying instead", link_path, relative, exc)
        _copy(target_path, link_path)
        return Alias(link, target, "copy")


def _copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".part")
    if tmp.exists():
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
    if src.is_dir():
        shutil.copytree(src, tmp)
    else:
        shutil.copy2(src, tmp)
    os.replace(tmp, dst)
