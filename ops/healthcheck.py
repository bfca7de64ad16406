"""Container health probes: `python -m ops.healthcheck worker|gateway` exits 0 when healthy.

worker:  this host's Celery node answers a ping sent through the broker, so its main process
         is alive and consuming from Redis (the node is `celery@<hostname>`, as Celery names it).
gateway: GET /healthz on this host's gunicorn answers 200.

Both read the same OCR_* settings as the processes they probe and import no OCR code.
"""
from __future__ import annotations

import argparse
import sys
import urllib.request

from jobs.settings import get_settings

TIMEOUT = 5.0


def worker_answers(node: str | None = None, timeout: float = TIMEOUT) -> bool:
    from celery.utils.nodenames import default_nodename

    from worker.celery_app import celery_app  # the worker image's app; the gateway never gets here

    node = node or default_nodename(None)
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)  # fail fast
            replies = celery_app.control.ping(destination=[node], timeout=timeout, connection=connection)
    except Exception as exc:  # broker unreachable
        print(f"unhealthy: cannot reach the broker: {exc}", file=sys.stderr)
        return False
    if any(node in reply for reply in replies):
        return True
    print(f"unhealthy: {node} did not answer a ping within {timeout:g} s", file=sys.stderr)
    return False


def gateway_answers(timeout: float = TIMEOUT) -> bool:
    settings = get_settings()
    host = "127.0.0.1" if settings.host in ("", "0.0.0.0", "::") else settings.host
    url = f"http://{host}:{settings.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.healthcheck", description=__doc__.split("\n")[0])
    parser.add_argument("role", choices=("worker", "gateway"))
    parser.add_argument("--node", help="Celery node to ping (default: celery@<this hostname>)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT)
    args = parser.parse_args(argv)
    if args.role == "worker":
        healthy = worker_answers(args.node, args.timeout)
    else:
        healthy = gateway_answers(args.timeout)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
