"""Batch runs for the command-line tools (`python -m ocrcore`, and the `ocrserve` client): which
files a folder holds, where each file's output goes, and the loop that runs them with a progress
bar, reports a failed file and goes on with the others.

Standard library only (tqdm draws the bar when it is installed): importing this loads nothing
of the engine, so a client that only talks HTTP can use it.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .limits import OUTPUT_FORMATS

# File names a folder is searched for (what the service reads, recognised again by its bytes).
INPUT_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".pdf"})
# Short names people type for the output formats.
FORMAT_ALIASES = {"md": "markdown", "txt": "text", "htm": "html"}
# Output file name suffix per format.
SUFFIXES = {"json": ".json", "text": ".txt", "markdown": ".md", "html": ".html", "hocr": ".hocr"}


def output_format(name: str) -> str:
    """A format name or alias (md, txt) -> the service's name; ValueError for anything else."""
    name = FORMAT_ALIASES.get(name.lower(), name.lower())
    if name not in OUTPUT_FORMATS:
        raise ValueError(f"unknown format {name!r}: use one of {', '.join(OUTPUT_FORMATS)} (or md, txt)")
    return name


FORMAT_CHOICES = (*OUTPUT_FORMATS, *FORMAT_ALIASES)


@dataclass(frozen=True)
class Item:
    """One input file: its path, and its name relative to the argument it was found under."""

    path: Path
    name: Path  # the file name for a file argument; the path below the folder for a folder's files
    output: Path | None = None  # where its output goes, when written to a folder


def collect(arguments: Iterable[str | Path]) -> tuple[list[Item], list[str]]:
    """Files named on the command line, and the image and PDF files in named folders (recursively,
    in name order, hidden ones skipped). Returns (items, problems): a missing path is a problem
    to report, not a reason to stop."""
    items: list[Item] = []
    problems: list[str] = []
    seen: set[Path] = set()
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = []
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in names:
                    if not name.startswith(".") and Path(name).suffix.lower() in INPUT_SUFFIXES:
                        found.append(Path(root, name))
            for file in sorted(found):
                if file.resolve() not in seen:
                    seen.add(file.resolve())
                    items.append(Item(file, file.relative_to(path)))
        elif path.is_file():
            if path.resolve() not in seen:
                seen.add(path.resolve())
                items.append(Item(path, Path(path.name)))
        else:
            problems.append(f"{path}: no such file or folder")
    return items, problems


def plan_outputs(items: Sequence[Item], out_dir: Path, fmt: str) -> list[Item]:
    """Each item with its output path: out_dir/<name without suffix><format suffix>, keeping the
    folder structure below each argument; when two inputs would share an output (a.png and
    a.pdf), both keep their own suffix too (a.png.md, a.pdf.md). The same inputs always get
    the same outputs, so a second run can skip what the first wrote."""
    suffix = SUFFIXES[fmt]
    wanted = [item.name.with_suffix(suffix) for item in items]
    counts: dict[Path, int] = {}
    for target in wanted:
        counts[target] = counts.get(target, 0) + 1
    planned = []
    for item, target in zip(items, wanted):
        if counts[target] > 1:
            target = item.name.with_name(item.name.name + suffix)
        planned.append(Item(item.path, item.name, out_dir / target))
    return planned


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write via a temporary file and a rename, so an interrupted run never leaves a partial
    output that a later --skip-existing run would take for a finished one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        if isinstance(content, bytes):
            temporary.write_bytes(content)
        else:
            temporary.write_text(content, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


class Interrupted(Exception):
    """The batch was stopped (Ctrl-C) while this file was in hand."""


@dataclass
class Report:
    """What a batch did: outputs written, files skipped (output already there), failures."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

    def summary(self) -> str:
        parts = [f"{len(self.written)} written", f"{len(self.skipped)} skipped", f"{len(self.failed)} failed"]
        state = "interrupted" if self.interrupted else "done"
        return f"{state} in {self.seconds:.1f} s: " + ", ".join(parts)


def progress_bar(total: int, *, unit: str = "file", stream: TextIO | None = None, disable: bool | None = None) -> Any:
    """A tqdm bar on stderr (drawn only on a terminal unless disable=False), or a stand-in
    with the same methods when tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit=unit, file=stream or sys.stderr, disable=disable, dynamic_ncols=True,
                smoothing=0.1)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        pass

    def write(self, text: str, file: TextIO | None = None) -> None:
        print(text, file=file or sys.stderr)

    def close(self) -> None:
        pass


def run(
    items: Sequence[Item],
    work: Callable[[Item, threading.Event], str | bytes],
    *,
    concurrency: int = 1,
    skip_existing: bool = False,
    progress: bool | None = None,
    label: str = "",
) -> Report:
    """Run `work(item, stop)` for every item (up to `concurrency` at once) and write what it
    returns to item.output. An exception from one item is reported on stderr (through the bar,
    so the two do not garble each other) and the batch goes on. With skip_existing, an item
    whose output exists is not worked on at all. Ctrl-C sets `stop`, lets the items in hand end
    (work should watch `stop` and raise Interrupted), and marks the report interrupted.
    progress: None draws the bar on a terminal only; True always; False never."""
    report = Report()
    started = time.monotonic()
    todo = []
    for item in items:
        assert item.output is not None, "plan_outputs first"
        if skip_existing and item.output.exists():
            report.skipped.append(item.path)
        else:
            todo.append(item)
    bar = progress_bar(len(items), disable=None if progress is None else not progress)
    if label:
        bar.set_postfix_str(label, refresh=False)
    bar.update(len(report.skipped))
    stop = threading.Event()
    lock = threading.Lock()

    def one(item: Item) -> None:
        if stop.is_set():
            return
        try:
            content = work(item, stop)
            assert item.output is not None
            write_atomically(item.output, content)
        except Interrupted:
            return
        except Exception as exc:  # one file's failure is reported; the batch goes on
            message = str(exc) or type(exc).__name__
            with lock:
                report.failed.append((item.path, message))
                bar.write(f"{item.path}: {message}", file=sys.stderr)
        else:
            with lock:
                report.written.append(item.output)
        with lock:
            bar.update(1)

    executor = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="batch")
    try:
        pending: set[Future] = {executor.submit(one, item) for item in todo}
        while pending:  # waits in short steps, so Ctrl-C reaches this thread at once
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
    except KeyboardInterrupt:
        stop.set()
        report.interrupted = True
        bar.write("interrupted: stopping the files in hand...", file=sys.stderr)
        executor.shutdown(wait=True, cancel_futures=True)
    finally:
        executor.shutdown(wait=True)
        bar.close()
    report.seconds = time.monotonic() - started
    return report
