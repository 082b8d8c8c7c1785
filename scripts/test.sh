#!/usr/bin/env bash
# Install the test dependencies into the current Python environment, then run the lints and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# Every install takes the versions the suite last passed with (scripts/constraints.txt), so a new release of a
# dependency cannot fail a run that changed nothing. LLAVAMIX_CONSTRAINTS= (empty) installs the newest releases
# pyproject.toml allows instead: how the pins are refreshed (README, development notes).
CONSTRAINTS=${LLAVAMIX_CONSTRAINTS-scripts/constraints.txt}
pins=() tf4_pins=()
if [ -n "$CONSTRAINTS" ]; then
    pins=(-c "$CONSTRAINTS") tf4_pins=(-c scripts/constraints-transformers4.txt)
fi

"$PY" -m pip install -q --upgrade pip "${pins[@]}"
# The CPU build of torch; an unpinned torch would pull a multi-GB CUDA build.
"$PY" -m pip install -q "torch==2.13.0" "${pins[@]}"
"$PY" -m pip install -q -e ".[dev,serve,report,torch,dedup,cloud,ray]" "${pins[@]}"
# The reference implementation the loader is tested against (its own pins are ancient: no deps).
"$PY" -m pip install -q --no-deps "llava-torch==1.2.2.post1" "${pins[@]}"
# Hugging Face datasets reads the Parquet shards back in a round-trip test (too heavy for the dev extra).
"$PY" -m pip install -q datasets "${pins[@]}"

# Headless Chromium renders the HTML reports in the tests (Debian package; skipped where apt is unavailable).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed; its test will skip"
fi

"$PY" -m ruff check src tests benchmarks scripts
"$PY" -m mypy
lint-imports

# The loader must also equal the reference under the transformers 4.x line the reference trains with: overlay
# 4.x (and the hub/tokenizers it needs) on top of the environment for that one suite.
tf4=$(mktemp -d)
"$PY" -m pip install -q --no-deps --target "$tf4" -r scripts/transformers4.in "${tf4_pins[@]}"
PYTHONPATH="$tf4" "$PY" -m pytest -q -p no:cacheprovider tests/loader
rm -rf "$tf4"

"$PY" -m pytest -q "$@"
