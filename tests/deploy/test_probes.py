"""The images' HEALTHCHECK commands (ops/commands.py), run against the live service."""
from __future__ import annotations

import os
import subprocess
from urllib.parse import urlparse

from ops.commands import GATEWAY_HEALTHCHECK, WORKER_HEALTHCHECK, with_this_python
from ops.run_local import REPO, free_port


def probe(command: tuple[str, ...], *extra: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OCR_")}
    return subprocess.run([*with_this_python(command), *extra], cwd=REPO, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


def test_gateway_probe_passes_on_a_live_gateway_and_fails_on_a_dead_port(live_service):
    port = str(urlparse(live_service.base_url).port)
    assert probe(GATEWAY_HEALTHCHECK, OCR_PORT=port, OCR_HOST="127.0.0.1").returncode == 0
    dead = probe(GATEWAY_HEALTHCHECK, OCR_PORT=str(free_port()), OCR_HOST="127.0.0.1")
    assert dead.returncode == 1 and "unhealthy" in dead.stderr


def test_worker_probe_is_answered_by_this_hosts_node_only(live_service):
    ok = probe(WORKER_HEALTHCHECK, OCR_REDIS_URL=live_service.redis_url)
    assert ok.returncode == 0, ok.stderr
    # Another node's name (another container): nobody answers, the probe fails within its timeout.
    missing = probe(WORKER_HEALTHCHECK, "--node", "celery@no-such-container", "--timeout", "1",
                    OCR_REDIS_URL=live_service.redis_url)
    assert missing.returncode == 1 and "did not answer" in missing.stderr
    unreachable = probe(WORKER_HEALTHCHECK, "--timeout", "1", OCR_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert unreachable.returncode == 1
