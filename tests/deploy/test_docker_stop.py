"""`docker stop` on a busy worker container, without Docker: SIGTERM to the worker's main process
with the image's REMAP_SIGTERM. The running job goes back to the queue at once and another
worker finishes it; the worker exits long before compose's stop_grace_period."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import requests

from tests.service.helpers import b64, wait_for

from .dockerfile import parse

REPO = Path(__file__).resolve().parents[2]
SOFT_SHUTDOWN = 0.5  # seconds (the images: 60); the receipt takes seconds, so it is cut


def test_docker_stop_requeues_the_running_job_for_another_worker(start_service, receipt_jpeg):
    image_env = parse(REPO / "Dockerfile.worker").final.env()
    stack = start_service("docker-stop", {"REMAP_SIGTERM": image_env["REMAP_SIGTERM"],
                                          "OCR_SOFT_SHUTDOWN_TIMEOUT": str(SOFT_SHUTDOWN)})
    job = requests.post(stack.url("/jobs"), json={"image": b64(receipt_jpeg)}, timeout=30).json()
    wait_for(stack.url(job["url"]), statuses={"running"})

    worker = stack.processes.procs["worker"]
    stopped_at = time.monotonic()
    os.kill(worker.pid, signal.SIGTERM)  # Docker signals PID 1 (tini passes it to Celery), not the group
    stack.processes.stopped.add("worker")
    worker.wait(60)
    took = time.monotonic() - stopped_at
    assert took < SOFT_SHUTDOWN + 15, f"the worker took {took:.1f} s to stop"
    # Not finished, not failed: back in the queue right away (not after the visibility timeout).
    assert requests.get(stack.url(job["url"]), timeout=10).json()["status"] == "running"
    assert stack.redis.llen("ocr") == 1
    assert "Restoring 1 unacknowledged message" in stack.log("worker")

    stack.start_worker({"REMAP_SIGTERM": image_env["REMAP_SIGTERM"]})
    done = wait_for(stack.url(job["url"]))
    assert done["status"] == "succeeded", done
    assert stack.store.get(job["id"]).attempts == 2
