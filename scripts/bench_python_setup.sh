#!/usr/bin/env bash
# Creates .tools/bench-venv (if missing) with the Python lead-validation stack pinned in
# scripts/bench_python_requirements.txt, for scripts/bench_python_stack.py.
# Prints the venv's python path as the last line of stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="$PWD/.tools/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv" >&2
    mkdir -p "$PWD/.tools"
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    -r scripts/bench_python_requirements.txt >&2
echo "$venv/bin/python"
