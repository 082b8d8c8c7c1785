"""Curated mutation check: does the test suite catch realistic one-line bugs in the critical modules?

Each mutant replaces one exact snippet of one module (the snippet must occur exactly once, so a refactor that
moves the code makes the mutant fail loudly instead of silently testing nothing). Mutants run one at a time in a
private copy of ``src/`` put first on ``PYTHONPATH`` (subprocesses of ``python -m llavamix`` inherit it), against
the tests that own the module; the working tree is never touched.

    python scripts/mutants.py                 # every mutant, prints killed/survived and the survival rate
    python scripts/mutants.py --list          # the mutants, without running anything
    python scripts/mutants.py -k pack -k part # only mutants whose name contains one of these words

Exit status: 0 when every mutant is killed, 1 when some survive, 2 when a mutant no longer applies.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PKG = REPO / "src" / "llavamix"


@dataclass(frozen=True)
class Mutant:
    name: str
    module: str  # path under src/llavamix
    find: str
    replace: str
    tests: tuple[str, ...]  # pytest paths (under tests/) that should kill it


M = Mutant
IO = ("tests/foundation/test_io.py",)
FETCH = ("tests/fetch", *IO)
EXTRACT = ("tests/extract",)
VERIFY = ("tests/verify", "tests/cli/test_bad_input.py")
PACK = ("tests/pack",)
RULES = ("tests/foundation/records", "tests/verify", "tests/pack")
LOADER = ("tests/loader",)
LAYOUT = "foundation/layout.py"
IMAGEFILE = "foundation/records/imagefile.py"

MUTANTS: tuple[Mutant, ...] = (
    # --- download and resume -------------------------------------------------------------------------------
    M("part-forgets-validator", "fetch/download.py", "part.remember(body.validator)", "pass", FETCH),
    M("resume-keeps-wrong-start", "fetch/download.py", "if body.start != part.size:", "if False:", FETCH),
    M("size-mismatch-accepted", "fetch/download.py", "if size is not None and part.size != size:", "if False:", FETCH),
    M("checksum-ignored", "fetch/download.py", "part.hexdigest() != checksum[1]", "False", FETCH),
    M("no-if-range", "fetch/http.py", 'headers["If-Range"] = validator', "pass", FETCH),
    M("retry-after-ignored", "fetch/http.py", 'retry_after(resp.headers.get("Retry-After"))', "None", FETCH),
    M("range-offset-unchecked", "fetch/http.py", "if first != offset or last is None", "if last is None", FETCH),
    M("strong-etag-only", "fetch/http.py", 'not etag.startswith("W/")', "True", FETCH),
    M(
        "resume-hash-skips-prefix",
        "fetch/part.py",
        "update_from_file(h, self.path, start=start, stop=self.size, check=CANCEL.check)",
        "pass",
        FETCH,
    ),
    M(
        "commit-not-atomic",
        "foundation/io.py",
        "os.replace(tmp, path)",
        "shutil.copyfile(tmp, path)",
        ("tests/foundation/test_io.py",),
    ),
    # --- archive safety and layout -------------------------------------------------------------------------
    M(
        "layout-allows-absolute",
        LAYOUT,
        'if value.startswith("/"):',
        "if False:",
        ("tests/catalog", *VERIFY),
    ),
    M(
        "layout-allows-dotdot",
        LAYOUT,
        'norm == ".." or norm.startswith("../")',
        "False",
        ("tests/catalog",),
    ),
    M(
        "fifo-read",
        "foundation/io.py",
        "if not stat.S_ISREG(mode):",
        "if False:",
        (*IO, *PACK),
    ),
    # --- verify rules and clean JSON ------------------------------------------------------------------------
    M("truncated-jpeg-passes", "verify/images.py", "im.load()", "pass", VERIFY),
    M(
        "clean-keeps-errors",
        "verify/report.py",
        "return {p.index for p in self.problems if p.is_error}",
        "return set()",
        VERIFY,
    ),
    M("fast-path-skips-blank", "foundation/records/rules.py", "all(map(str.strip, values))", "True", RULES),
    M(
        "alternation-off-by-one",
        "foundation/records/rules.py",
        '("human" if (j - start) % 2 == 0 else "gpt")',
        '("human" if (j - start) % 2 == 1 else "gpt")',
        RULES,
    ),
    M("null-image-accepted", "foundation/records/rules.py", "if image is None:", "if False:", RULES),
    M("two-image-tokens-accepted", "foundation/records/rules.py", "if total != 1:", "if total > 2:", RULES),
    # --- pack -------------------------------------------------------------------------------------------------
    M("pack-reuses-stale-shard", "pack/run.py", "before.get(shard) == now[shard]", "True", PACK),
    M("pack-digest-ignores-image", "pack/digest.py", "stat.st_size, stat.st_mtime_ns, stat.st_ino", "0, 0, 0", PACK),
    M(
        "pack-tar-not-atomic",
        "foundation/formats/webdataset.py",
        "with atomic_writer(path) as fh,",
        "with open(path, 'wb') as fh,",
        PACK,
    ),
    M("pack-parquet-not-atomic", "foundation/formats/parquet.py", "tmp = part_path(path)", "tmp = path", PACK),
    M(
        "image-outside-root-read",
        IMAGEFILE,
        "if problem is not None:",
        "if False:",
        (*PACK, *VERIFY),
    ),
    M(
        "image-fifo-read",
        IMAGEFILE,
        "if not stat.S_ISREG(st.st_mode):",
        "if False:",
        (*PACK, *VERIFY),
    ),
    M("image-empty-accepted", IMAGEFILE, "if st.st_size == 0:", "if False:", (*PACK, *VERIFY)),
    # --- loader tokens and anyres -------------------------------------------------------------------------
    M("alternation-unchecked", "loader/tokens.py", "if role != tpl.roles[j % 2]:", "if False:", LOADER),
    M("leading-gpt-kept", "loader/tokens.py", "turns = turns[1:]", "pass", LOADER),
    M(
        "v1-instruction-len",
        "loader/conversation.py",
        "instruction_extra=-2, later=(0, -1)",
        "instruction_extra=-1, later=(0, -1)",
        LOADER,
    ),
    M(
        "v1-legacy-shift",
        "loader/conversation.py",
        "instruction_extra=-2, later=(0, -1)",
        "instruction_extra=-2, later=(0, 0)",
        LOADER,
    ),
    M(
        "llama3-eot-unlearned",
        "loader/conversation.py",
        "round_extra=1, instruction_extra=0",
        "round_extra=0, instruction_extra=0",
        LOADER,
    ),
    M(
        "mpt-legacy-ignored",
        "loader/conversation.py",
        "instruction_extra=-1, later=(1, 0)",
        "instruction_extra=-1, later=(0, 0)",
        LOADER,
    ),
    M(
        "llama2-answer-marker",
        "loader/conversation.py",
        'Rounds("sep2", "[/INST] ", start=1',
        'Rounds("sep2", "[/INST]", start=1',
        LOADER,
    ),
    M("mismatch-not-masked", "loader/tokens.py", "if cur < max_length and cur != total:", "if False:", LOADER),
    M("text-only-untruncated", "loader/tokens.py", "truncation=True", "truncation=False", LOADER),
    M(
        "image-sizes-swapped",
        "loader/collate.py",
        'batch["image_sizes"] = [s["image_size"] for s in samples]',
        'batch["image_sizes"] = [tuple(reversed(s["image_size"])) for s in samples]',
        LOADER,
    ),
    M(
        "collate-no-truncate",
        "loader/collate.py",
        "input_ids[:, : self.max_length], labels[:, : self.max_length]",
        "input_ids, labels",
        LOADER,
    ),
    M(
        "anyres-tie-waste",
        "foundation/records/anyres.py",
        "key = (effective, -(w * h - effective))",
        "key = (effective, 0)",
        (*LOADER, "tests/stats"),
    ),
    M(
        "anyres-unpad-once",
        "foundation/records/anyres.py",
        "rows -= 2 * ((rows - new_h) // 2)",
        "rows -= (rows - new_h) // 2",
        (*LOADER, "tests/stats"),
    ),
    M(
        "anyres-no-newline",
        "foundation/records/anyres.py",
        "BASE_TOKENS + rows * cols + rows",
        "BASE_TOKENS + rows * cols",
        (*LOADER, "tests/stats"),
    ),
    M(
        "anyres-canvas-offset",
        "loader/image.py",
        "top, left = (k // cols) * size, (k % cols) * size",
        "top, left = (k % cols) * size, (k // cols) * size",
        LOADER,
    ),
    M(
        "pad-fill-black",
        "loader/image.py",
        "fill = tuple(int(x * 255) for x in self.config.image_mean)",
        "fill = (0, 0, 0)",
        LOADER,
    ),
)


def run_mutant(m: Mutant, scratch: Path, timeout: float) -> str:
    """'killed', 'survived' or 'timeout' (counted as killed: the suite noticed something)."""
    target = scratch / "src" / "llavamix" / m.module
    original = target.read_text(encoding="utf-8")
    target.write_text(original.replace(m.find, m.replace, 1), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{scratch / 'src'}{os.pathsep}{REPO}"}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *m.tests]
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timeout"
    finally:
        target.write_text(original, encoding="utf-8")
    return "survived" if proc.returncode == 0 else "killed"


def stale(mutants: list[Mutant]) -> list[str]:
    out = []
    for m in mutants:
        count = (PKG / m.module).read_text(encoding="utf-8").count(m.find)
        if count != 1:
            out.append(f"{m.name}: {m.find!r} occurs {count} times in {m.module}; update the mutant")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", action="append", default=[], help="only mutants whose name contains this word")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant's test run")
    args = parser.parse_args()
    mutants = [m for m in MUTANTS if not args.k or any(k in m.name for k in args.k)]
    if args.list:
        for m in mutants:
            print(f"{m.name:32} {m.module:24} {' '.join(m.tests)}")
        return 0
    if problems := stale(mutants):
        print("\n".join(problems), file=sys.stderr)
        return 2
    survivors = []
    with tempfile.TemporaryDirectory(prefix="llavamix-mutants-") as tmp:
        scratch = Path(tmp)
        shutil.copytree(PKG, scratch / "src" / "llavamix", ignore=shutil.ignore_patterns("__pycache__"))
        for m in mutants:
            t0 = time.monotonic()
            verdict = run_mutant(m, scratch, args.timeout)
            print(f"{verdict:9} {m.name:32} {m.module:24} {time.monotonic() - t0:6.1f}s", flush=True)
            if verdict == "survived":
                survivors.append(m.name)
    killed = len(mutants) - len(survivors)
    print(f"\n{killed} of {len(mutants)} mutants killed; survival rate {len(survivors) / max(1, len(mutants)):.0%}")
    if survivors:
        print("survived: " + ", ".join(survivors))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
