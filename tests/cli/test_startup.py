"""Start-up: ``llavamix --help``, ``sources`` and ``status`` import no download client, image decoder, array or
plotting library (the commands that use one import it), and their imports stay within a budget. Both are read from
``python -X importtime``, the interpreter's own account of every import, not from the wall clock of a busy machine.
Those parts come with extras, and ``llavamix[all]`` installs every one.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

# what no listing command needs: the download clients (and what they pull in), image decoding, Arrow, torch,
# plotting, and the process pool's multiprocessing
HEAVY = (
    "gdown",
    "bs4",
    "huggingface_hub",
    "requests",
    "urllib3",
    "PIL",
    "numpy",
    "pyarrow",
    "webdataset",
    "torch",
    "transformers",
    "matplotlib",
    "multiprocessing",
)
# generous: these commands import in about 100 ms on a busy 2-core machine without bytecode caches (interpreter
# start-up included); importing every stage eagerly took 350 ms there
BUDGET_MS = 250
COMMANDS = {
    "help": ["--help"],
    "sources": ["sources", "--catalog", "default", "--root", "data"],
    "status": ["status", "--catalog", "sample", "--root", "data"],
}
PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"
STAGES = ("fetch", "extract", "verify", "stats", "index", "pack", "mix", "recipes")


@dataclass(frozen=True)
class Import:
    name: str
    depth: int  # 0: imported by the command's own code; 1: by a depth-0 module's code; ...
    self_us: int  # its own import time, its imports excluded


def imports_of(args: list[str], cwd: Path) -> list[Import]:
    """Every module ``python -m llavamix ARGS`` imports, in the order ``-X importtime`` reports them (each module
    after the modules it imported)."""
    cmd = [sys.executable, "-X", "importtime", "-m", "llavamix", *args]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the command printed nothing"
    found = []
    for line in done.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if line.startswith("import time:") and fields[0].strip().isdigit():
            name = fields[2].rstrip()
            found.append(Import(name.strip(), (len(name) - len(name.lstrip()) - 1) // 2, int(fields[0])))
    return found


def importers(found: list[Import], i: int) -> list[str]:
    """The chain of modules through which ``found[i]`` was imported, nearest first."""
    chain, depth = [], found[i].depth
    for later in found[i + 1 :]:
        if later.depth < depth:
            chain.append(later.name)
            depth = later.depth
    return chain


def is_heavy(name: str) -> bool:
    return any(name == top or name.startswith(top + ".") for top in HEAVY)


@pytest.mark.parametrize("command", COMMANDS)
def test_imports_nothing_heavy(command: str, tmp_path: Path) -> None:
    found = imports_of(COMMANDS[command], tmp_path)
    first: dict[str, int] = {}  # each heavy package: the outermost import of it (its own modules come inside)
    for i, f in enumerate(found):
        top = f.name.split(".")[0]
        if is_heavy(f.name) and (top not in first or f.depth < found[first[top]].depth):
            first[top] = i
    heavy = [f"{found[i].name} (via {' <- '.join(importers(found, i))})" for i in first.values()]
    assert not heavy, f"llavamix {command} imports {heavy}: import them where they are used"


@pytest.mark.parametrize("command", COMMANDS)
def test_imports_within_budget(command: str, tmp_path: Path) -> None:
    found = imports_of(COMMANDS[command], tmp_path)
    total_ms = sum(f.self_us for f in found) / 1000
    slowest = [f"{f.name} {f.self_us / 1000:.1f} ms" for f in sorted(found, key=lambda f: -f.self_us)[:5]]
    assert total_ms <= BUDGET_MS, f"llavamix {command} spends {total_ms:.0f} ms importing; the slowest: {slowest}"


@pytest.mark.parametrize("stage", STAGES)
def test_public_names_still_import(stage: str) -> None:
    # each stage package imports its names on first use; every name it lists must still arrive, as itself
    code = (
        f"import llavamix.{stage} as p, sys\n"
        f"names = {{n: getattr(p, n) for n in p.__all__}}\n"
        f"from llavamix.{stage} import *\n"
        f"assert all(globals()[n] is v for n, v in names.items())\n"
        f"assert set(p.__all__) <= set(dir(p)), set(p.__all__) - set(dir(p))\n"
        f"print(len(names))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0


def test_unknown_name_is_still_an_attribute_error() -> None:
    import llavamix.fetch

    with pytest.raises(AttributeError, match=r"module 'llavamix\.fetch' has no attribute 'fetch_everything'"):
        getattr(llavamix.fetch, "fetch_everything")  # noqa: B009


def test_all_extra_installs_every_extra() -> None:
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert "all" in extras, "pyproject.toml has no 'all' extra: pip install 'llavamix[all]' must give everything"
    (spec,) = extras["all"]
    listed = spec.removeprefix("llavamix[").removesuffix("]").split(",")
    assert sorted(listed) == sorted(set(extras) - {"all", "dev"}), "llavamix[all] must list every other extra"
