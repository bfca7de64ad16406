"""One file that crashes native code, or allocates without bound, ends its own job `failed` with
a reason; the child is replaced; a job running beside it on the other child finishes.

The crash is deliberate: OCR_TEST_CRASH_ON (test only, off by default) makes a worker child
that reads a file carrying the marker abort, segfault or allocate past its address-space cap
(worker/child.py `crash_hook`). The stack is private: two children on one core each, two
attempts per job, a 2 GB address-space cap per child.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from jobs.settings import Settings
from tests.conftest import render_text_image

from .helpers import b64, submit, wait_for

MARKER = "OCR-TEST-CRASH-8d1c"
CRASH_ENV = {
    "OCR_TEST_CRASH_ON": MARKER,
    "OCR_WORKER_CHILDREN": "2",
    "OCR_CORES_PER_GROUP": "1",
    "OCR_MAX_ATTEMPTS": "2",
    # OpenVINO reserves more address space than onnxruntime (a receipt passed 2 GB): 4 GB
    # leaves the normal jobs room, and the bomb grows until it hits any cap.
    "OCR_CHILD_MEMORY_LIMIT_MB": "4096",
    "OCR_HEARTBEAT_INTERVAL": "0.5",
}


@pytest.fixture(scope="module")
def crashy(start_service):
    stack = start_service("crash-service", CRASH_ENV)
    yield stack
    stack.close()


def crashing_png(mode: str) -> bytes:
    """A valid PNG (the gateway accepts it) with the marker and the crash mode after its end."""
    return render_text_image([f"CRASH {mode.upper()}"]) + MARKER.encode() + mode.encode()


def children(stack) -> set[str]:
    return {m.decode() for m in stack.redis.zrange("ocr:workers", 0, -1)}


def wait_children(stack, count: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while len(children(stack)) < count:
        assert time.monotonic() < deadline, f"{count} children never came back: {children(stack)}"
        time.sleep(0.2)


@pytest.mark.parametrize("mode, signal_name", [("segv", "SIGSEGV"), ("abort", "SIGABRT")])
def test_a_crashing_file_fails_its_own_job_and_the_job_beside_it_succeeds(crashy, receipt_jpeg, mode, signal_name):
    wait_children(crashy, 2)
    crash = submit(crashy.base_url, crashing_png(mode))
    good = submit(crashy.base_url, receipt_jpeg)  # runs on the other child meanwhile
    crashed = wait_for(crashy.url(crash["url"]), timeout=180)
    finished = wait_for(crashy.url(good["url"]), timeout=180)

    assert crashed["status"] == "failed", crashed
    assert crashed["error"]["code"] == "worker_crashed", crashed
    assert signal_name in crashed["error"]["message"] and "2 attempts" in crashed["error"]["message"]
    assert finished["status"] == "succeeded", finished
    assert len(finished["result"]["results"]) > 10
    assert not crashy.redis.exists(f"ocr:upload:{crash['id']}")  # its upload is gone with it
    log = crashy.log("worker")
    assert log.count("exited with 'signal") >= 2 and signal_name in log
    # The dead children were replaced: two alive again, and a new job is read.
    wait_children(crashy, 2)
    after = requests.post(crashy.url("/ocr"), json={"image": b64(render_text_image(["STILL READING"]))}, timeout=120)
    assert after.status_code == 200 and "READING" in after.text, after.text


def test_a_sync_call_with_a_crashing_file_answers_422_not_503(crashy):
    """The file is the problem, not the service: a client must not retry it."""
    response = requests.post(crashy.url("/ocr"), json={"image": b64(crashing_png("segv"))}, timeout=180)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "worker_crashed"
    assert "Retry-After" not in response.headers


def test_a_memory_bomb_fails_its_own_job_under_the_child_cap(crashy, receipt_jpeg):
    """Native allocations (numpy) grow past the 4 GB address-space cap: MemoryError in the child,
    the job fails `memory_limit` at once (no retry), the other child's job is untouched."""
    wait_children(crashy, 2)
    with ThreadPoolExecutor(2) as pool:
        bomb = pool.submit(requests.post, crashy.url("/ocr"), json={"image": b64(crashing_png("memory"))},
                           timeout=180)
        good = pool.submit(requests.post, crashy.url("/ocr"), json={"image": b64(receipt_jpeg)}, timeout=180)
        bomb_answer, good_answer = bomb.result(), good.result()
    assert bomb_answer.status_code == 413, bomb_answer.text
    body = bomb_answer.json()["error"]
    assert body["code"] == "memory_limit" and "4096 MB" in body["message"]
    assert good_answer.status_code == 200 and len(good_answer.json()["results"]) > 10
    assert "child address space limited to 4096 MB" in crashy.log("worker")


def test_the_crash_hook_is_off_by_default(monkeypatch):
    from worker import child

    assert Settings.model_fields["test_crash_on"].default is None
    monkeypatch.setattr(child, "get_settings", lambda: Settings())
    data = crashing_png("segv")
    assert child.crash_hook(data) is data  # no marker configured: nothing happens
