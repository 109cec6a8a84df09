#!/usr/bin/env python
"""Size of what an MCP client puts into the model's context: the tools/list answer of each tool set.

    python tests/performance/mcp_tools_size.py [--tool-sets classic,current] [--json OUT]

For each ``MCP_MEMORY_TOOL_SET`` it starts this venv's ``memory`` stdio server (an empty sqlite_vec store in a
temporary directory, HOME and XDG directories there too), lists the tools with the MCP SDK client and counts
the bytes of the answer as JSON (the ``ListToolsResult`` serialised compactly, aliases, no null fields: what the
server sends inside the JSON-RPC response), per tool and in all, and the bytes of the server's ``instructions``
(sent once, in the answer to ``initialize``). Prints a table; no timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any


async def measure(tool_set: str, work: Path) -> dict[str, Any]:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    binary = Path(sys.executable).with_name("memory")
    home = work / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MCP_MEMORY_TOOL_SET=tool_set, LOG_LEVEL="WARNING",
               MCP_MEMORY_SQLITE_PATH=str(work / f"{tool_set}.db"), MCP_MEMORY_WARMUP="false",
               MCP_HTTP_ENABLED="false")
    with open(work / "server.err", "a") as err:
        params = StdioServerParameters(command=str(binary), args=[], env=env, cwd=str(work))
        async with Client(stdio_client(params, errlog=err), read_timeout_seconds=120, mode="legacy") as client:
            listed = await client.list_tools()
            instructions = client.instructions or ""
    wire = listed.model_dump_json(by_alias=True, exclude_none=True).encode()
    tools = {t.name: len(t.model_dump_json(by_alias=True, exclude_none=True).encode()) for t in listed.tools}
    parts = {"description": 0, "inputSchema": 0, "outputSchema": 0}
    for tool in listed.tools:
        dumped = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        for key in parts:
            if key in dumped:
                parts[key] += len(json.dumps(dumped[key], separators=(",", ":"), ensure_ascii=False).encode())
    return {"tool_set": tool_set, "tools": len(listed.tools), "tools_list_bytes": len(wire),
            "instructions_bytes": len(instructions.encode()), "per_tool_bytes": tools, "parts_bytes": parts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tool-sets", default="classic,current")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mcp-memory-tools-") as tmp:
        rows = [asyncio.run(measure(t, Path(tmp))) for t in args.tool_sets.split(",")]
    print("| MCP_MEMORY_TOOL_SET | tools | tools/list answer (bytes) | of which descriptions | input schemas | "
          "output schemas | instructions (bytes) | largest tool (bytes) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        name, size = max(r["per_tool_bytes"].items(), key=lambda kv: kv[1])
        parts = r["parts_bytes"]
        print(f"| {r['tool_set']} | {r['tools']} | {r['tools_list_bytes']:,} | {parts['description']:,} | "
              f"{parts['inputSchema']:,} | {parts['outputSchema']:,} | {r['instructions_bytes']:,} | "
              f"{name} ({size:,}) |")
    for r in rows:
        print(f"\n{r['tool_set']}: " + ", ".join(f"{n} {b:,}" for n, b in r["per_tool_bytes"].items()))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
