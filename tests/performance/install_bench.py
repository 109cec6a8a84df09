#!/usr/bin/env python
"""Install size and time: the default bundle and a sentence-transformers install, side by side.

    python tests/performance/install_bench.py --workdir /tmp/install-bench [--source REPO] [--json OUT]

For each variant it clones SOURCE (default: this checkout's repository) into WORKDIR/<variant> and times, from
that clone:

- ``default``: ``bash scripts/install.sh`` (the core and the default plugins, the onnx embedder; no torch);
- ``sentence_transformers``: the same, then ``.venv/bin/pip install torch==2.13.0`` (the CPU build) and
  ``.venv/bin/pip install ./plugins/sentence_transformers``.

It reports the wall time of each step, the size of ``.venv`` on disk, the number of distributions in
``pip list``, and which of torch, transformers, sentence-transformers and nvidia-* it holds. HOME and the XDG
directories point into WORKDIR/<variant>/home during the install (``memory onnx-export`` writes its model
there); pip's cache is the one given by --pip-cache (default: pip's own). The venvs are kept:
tests/performance/cold_cli.py measures them next.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "sentence-transformers", "nvidia")


def log(message: str) -> None:
    print(f"[install] {message}", file=sys.stderr, flush=True)


def isolated_env(home: Path, pip_cache: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
               XDG_CACHE_HOME=str(home / "cache"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if pip_cache:
        env["PIP_CACHE_DIR"] = pip_cache
    return env


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    log(f"$ {' '.join(cmd)}   (in {cwd})")
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True)
    return time.perf_counter() - started


def tree_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def installed(venv: Path, env: dict[str, str]) -> list[str]:
    out = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return sorted(d["name"].lower() for d in json.loads(out))


def variant(name: str, source: str, workdir: Path, pip_cache: str | None) -> dict[str, Any]:
    clone = workdir / name
    if clone.exists():
        shutil.rmtree(clone)
    subprocess.run(["git", "clone", "--quiet", source, str(clone)], check=True)
    home = clone / "home"
    home.mkdir()
    env = isolated_env(home, pip_cache)
    steps = {"install.sh": timed(["bash", "scripts/install.sh"], clone, env)}
    pip = [str(clone / ".venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if name == "sentence_transformers":
        steps["pip install torch==2.13.0"] = timed([*pip, "torch==2.13.0"], clone, env)
        steps["pip install ./plugins/sentence_transformers"] = timed([*pip, "./plugins/sentence_transformers"],
                                                                      clone, env)
    venv = clone / ".venv"
    names = installed(venv, env)
    heavy = [n for n in names if n.startswith(HEAVY) or n in HEAVY]
    version = subprocess.run([str(venv / "bin" / "memory"), "--version"], env=env, capture_output=True, text=True,
                             check=False).stdout.strip()
    return {"variant": name, "venv": str(venv), "home": str(home), "steps_s": steps,
            "total_s": sum(steps.values()), "venv_mb": tree_bytes(venv) / 2**20, "distributions": len(names),
            "heavy": heavy, "mcp_memory_distributions": [n for n in names if n.startswith("mcp-memory")],
            "memory_version": version}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True, type=Path, help="where the clones go (replaced if present)")
    parser.add_argument("--source", default=str(REPO), help="the repository to clone (default: this checkout)")
    parser.add_argument("--variants", default="default,sentence_transformers")
    parser.add_argument("--pip-cache", help="PIP_CACHE_DIR for the installs (default: pip's own)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    rows = [variant(v, args.source, args.workdir, args.pip_cache) for v in args.variants.split(",")]
    load_after = os.getloadavg()
    print("| | " + " | ".join(r["variant"] for r in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    steps = list(dict.fromkeys(s for r in rows for s in r["steps_s"]))
    for step in steps:
        print(f"| `{step}` (s) | " + " | ".join(f"{r['steps_s'][step]:.1f}" if step in r["steps_s"] else "-"
                                               for r in rows) + " |")
    print("| install wall time in all (s) | " + " | ".join(f"{r['total_s']:.1f}" for r in rows) + " |")
    print("| `.venv` size (MB) | " + " | ".join(f"{r['venv_mb']:,.0f}" for r in rows) + " |")
    print("| distributions in `pip list` | " + " | ".join(str(r["distributions"]) for r in rows) + " |")
    print("| torch, transformers, nvidia in `pip list` | "
          + " | ".join(", ".join(r["heavy"]) or "none" for r in rows) + " |")
    print(f"\nload average before {load_before[0]:.2f}, after {load_after[0]:.2f}; {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "load_before": load_before, "load_after": load_after},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
