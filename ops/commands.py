"""The service's commands, in one place.

The Dockerfiles' CMD and HEALTHCHECK, `make run` and the tests all run these, so what the
tests exercise is what a container runs (tests/deploy checks the Dockerfiles against them).
Paths are relative to the repository root, the working directory of every one of them.
"""
from __future__ import annotations

import sys

WORKER = ("python", "-m", "worker")
GATEWAY = ("python", "-m", "gunicorn", "-c", "web/gunicorn_conf.py", "web:create_app()")
WORKER_HEALTHCHECK = ("python", "-m", "ops.healthcheck", "worker")
GATEWAY_HEALTHCHECK = ("python", "-m", "ops.healthcheck", "gateway")


def with_this_python(command: tuple[str, ...]) -> list[str]:
    """The command run by this interpreter (a virtualenv's python is not always `python` on PATH)."""
    assert command[0] == "python", command
    return [sys.executable, *command[1:]]
