#!/usr/bin/env bash
# Install mcp-memory (core + default plugins) into ./.venv from this checkout.
# torch is pinned first: a plain "torch" would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -r "${1:-requirements.txt}"
echo "installed: $(.venv/bin/memory --version)" >&2
