"""Saved benchmark results: one JSON file per benchmark run, with the machine it ran on.

Every benchmark ends with `save(NAME, figures, args)`, which writes bench/results/NAME.json
(or the path given with --json):

    {"bench": NAME, "machine": {"cpu", "cores", "date", "load"}, "command": "python -m bench.X ...",
     "source": "run", "figures": {...}}

`python -m bench.report` reads these files and writes the tables and plots of
docs/PERFORMANCE.md from them, so a figure in the docs is always one of these files, with its
machine and command beside it. A file whose "source" is not "run" was seeded from figures
recorded by hand before results were saved; its "machine" says what was known of that machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """The CPU model, the CPUs this process may use, the date and the load average, now."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = ""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "date": time.strftime("%Y-%m-%d %H:%M"), "load": load}


def path_for(name: str) -> Path:
    return RESULTS / f"{name}.json"


def json_option(parser: argparse.ArgumentParser, name: str) -> None:
    """The --json option every benchmark takes: where its results go (default bench/results/NAME.json)."""
    parser.add_argument("--json", type=Path, default=path_for(name),
                        help=f"write the results here (default: bench/results/{name}.json)")


def save(name: str, figures: dict[str, Any], path: Path | None = None, started: dict[str, Any] | None = None) -> Path:
    """Write `figures` with the machine (as measured at `started`, if given) and the command line."""
    target = path or path_for(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python -m", f"bench.{Path(sys.argv[0]).stem}", *sys.argv[1:]])
    document = {"bench": name, "machine": started or machine(), "command": command, "source": "run",
                "figures": figures}
    target.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"results saved to {target}")
    return target


def load(name: str, directory: Path = RESULTS) -> dict[str, Any] | None:
    """The saved results of `name`, or None if that benchmark has not been saved."""
    path = directory / f"{name}.json"
    if not path.exists():
        return None
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document
