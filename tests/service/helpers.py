"""Small helpers the service tests share."""
from __future__ import annotations

import base64
import time

import requests

TERMINAL = {"succeeded", "failed", "canceled"}
OCR_TIMEOUT = 120  # generous for a busy 2-core CI box; a healthy run never waits this long


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def wait_for(url: str, statuses=TERMINAL, timeout: float = OCR_TIMEOUT) -> dict:
    """Poll GET /jobs/<id> until its status is one of statuses."""
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(url, timeout=10)
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job stuck in {job['status']}: {job}"
        time.sleep(0.05)


def submit(base_url: str, data: bytes, **fields) -> dict:
    """POST /jobs with a JSON body; returns the 202 body."""
    response = requests.post(base_url + "/jobs", json={"image": b64(data), **fields}, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()
