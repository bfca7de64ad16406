"""Compile the images' lock files from pyproject.toml with uv's resolver, or check they are current.

    .venv/bin/python tools/lock_requirements.py            # (re)write both lock files
    .venv/bin/python tools/lock_requirements.py --check    # exit 1 if either is stale (make test runs this)
    .venv/bin/python tools/lock_requirements.py --upgrade  # newest versions pyproject.toml allows

requirements.lock (the worker image): the shared dependencies and the `worker` extra.
requirements-web.lock (the gateway image): the shared dependencies and the `gateway` extra,
resolved with requirements.lock as constraints, so the packages both images carry have the
same version in both (the Makefile installs .venv with both files as constraints at once).

`uv pip compile` resolves for the images' interpreter (CPython 3.11 on manylinux x86_64,
binary wheels only, as their Dockerfiles install), whatever machine runs it. It keeps the
pins already in a lock file when they still satisfy pyproject.toml and moves only what
must move, so a compile of an up-to-date lock reproduces it. --check compiles into a
temporary copy of each lock and compares the pins: a dependency added, removed or given a
range its pin no longer meets makes the check fail. Resolving reads the package index
(PyPI), which the developers' machines and CI reach.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKER_LOCK = "requirements.lock"
WEB_LOCK = "requirements-web.lock"
# lock file -> (pyproject extra, lock files it is resolved against as constraints); in this order.
LOCKS: dict[str, tuple[str, tuple[str, ...]]] = {
    WORKER_LOCK: ("worker", ()),
    WEB_LOCK: ("gateway", (WORKER_LOCK,)),
}
# The images: python:3.11-slim-bookworm (glibc 2.36) on x86_64; Dockerfiles take wheels only.
# A full 3.11 version, because markers compare patch releases (redis wants async-timeout only
# below 3.11.3): .venv's 3.11.7; the images' 3.11 is at least as new.
PYTHON = "3.11.7"
TARGET = ["--python-version", PYTHON, "--python-platform", "x86_64-manylinux_2_36", "--only-binary", ":all:"]
COMMAND = ".venv/bin/python tools/lock_requirements.py"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")


def compile_lock(root: Path, lock: str, directory: Path, upgrade: bool = False) -> None:
    """Run uv pip compile on root/pyproject.toml for `lock`, reading and writing the lock files in `directory`."""
    extra, constraints = LOCKS[lock]
    command = [
        sys.executable, "-m", "uv", "pip", "compile", "pyproject.toml", "--extra", extra,
        "--output-file", str(directory / lock), *TARGET,
        "--no-config", "--quiet", "--custom-compile-command", COMMAND,
    ]
    for constraint in constraints:
        command += ["--constraint", str(directory / constraint)]
    if upgrade:
        command.append("--upgrade")
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"uv pip compile failed for {lock}:\n{done.stderr.strip()}")


def pins(path: Path) -> dict[str, str]:
    """{canonical name: version} of a lock file (comments and annotations skipped)."""
    found = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        match = PIN.match(line.strip())
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


def differences(old: dict[str, str], new: dict[str, str]) -> list[str]:
    lines = []
    for name in sorted(old.keys() | new.keys()):
        if old.get(name) != new.get(name):
            lines.append(f"  {name}: {old.get(name, '(absent)')} -> {new.get(name, '(absent)')}")
    return lines


def check(root: Path) -> int:
    stale = []
    with tempfile.TemporaryDirectory(prefix="lock-check-") as tmp:
        scratch = Path(tmp)
        for lock in LOCKS:
            if (root / lock).exists():
                shutil.copy2(root / lock, scratch / lock)
        for lock in LOCKS:
            compile_lock(root, lock, scratch)
            changed = differences(pins(root / lock), pins(scratch / lock))
            if changed:
                stale.append(f"{lock} is stale relative to pyproject.toml:\n" + "\n".join(changed))
    if stale:
        print("\n".join(stale), file=sys.stderr)
        print(f"Run `{COMMAND}`, then `make install`, and commit the lock files.", file=sys.stderr)
        return 1
    print(f"{', '.join(LOCKS)}: current with pyproject.toml")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the lock files are current")
    parser.add_argument("--upgrade", action="store_true", help="take the newest versions allowed")
    parser.add_argument("--root", type=Path, default=REPO, help="directory of pyproject.toml and the locks")
    args = parser.parse_args(argv)
    if args.check:
        return check(args.root)
    for lock in LOCKS:
        compile_lock(args.root, lock, args.root, upgrade=args.upgrade)
        print(f"wrote {lock}: {len(pins(args.root / lock))} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
