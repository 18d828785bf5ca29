"""Recording benchmark results: JSON plus a markdown table, with the machine they ran on."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            # Which build ran: builds of one Python version differ in speed (bench/interpreters.py).
            "interpreter": os.path.realpath(sys.executable),
            "commit": commit, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def table_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every column any row has, in the order first seen (rows of different kinds share a
    table: a column a row lacks is left empty in it, never dropped from the table).

    >>> table_columns([{"target": "floor", "p99_ms": 1.0}, {"target": "api", "p99_ms": 2.0,
    ...                                                    "held": 10}])
    ['target', 'p99_ms', 'held']
    """
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def write(name: str, rows: list[dict[str, Any]], notes: str = "") -> Path:
    """Write ``bench/results/<name>.json`` and ``<name>.md``; returns the markdown path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    info = machine()
    (RESULTS / f"{name}.json").write_text(json.dumps({"machine": info, "rows": rows,
                                                      "notes": notes}, indent=2) + "\n")
    columns = table_columns(rows)
    lines = [f"# {name}", "", f"Machine: {info['cpu']}, {info['cores']} cores, "
             f"{info['memory_gib']} GiB, Python {info['python']} ({info['interpreter']}), "
             f"commit {info['commit']}, "
             f"{info['when']}", ""]
    if notes:
        lines += [notes, ""]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row[c]) if c in row else "" for c in columns)
                     + " |")
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)
