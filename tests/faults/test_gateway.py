"""The gateway under faults: graceful restarts under load, a SIGKILL while sync requests wait,
200 clients trickling their requests in a byte at a time, and a too-large body sent whole by
a client that reads the answer only afterwards (Python's urllib).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.service.helpers import b64

from .conftest import job_ids_in, percentile, poll_all, report, tally, wait_ready


@pytest.fixture(scope="module")
def stack(fault_stacks):
    return fault_stacks("gateway-faults")


class Traffic:
    """Clients calling the gateway in a loop until stopped, each call on a new connection."""

    def __init__(self, base_url: str, image: bytes, clients: int = 6):
        self.base_url = base_url
        self.body = {"image": b64(image)}
        self.stop = threading.Event()
        self.results: list[tuple[str, int | str, float]] = []
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(clients)]

    def _loop(self, index: int) -> None:
        calls = [("GET /healthz", "get", "/healthz", None), ("POST /jobs", "post", "/jobs", self.body),
                 ("POST /ocr", "post", "/ocr", self.body), ("GET /limits", "get", "/limits", None)]
        what, method, path, body = calls[index % len(calls)]
        deadline = time.monotonic() + 180  # bounded even if nobody stops us
        while not self.stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                response = requests.request(method, self.base_url + path, json=body, timeout=120,
                                            headers={"Connection": "close"})
                outcome: int | str = response.status_code
            except requests.RequestException as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            self.results.append((what, outcome, time.monotonic() - started))
            time.sleep(1.0 if what == "POST /jobs" else 0.05)  # the queue (100 jobs) never fills

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(150)


def test_graceful_restart_under_load_fails_no_request(stack, text_png):
    """SIGHUP (new workers, old ones finish their requests), then SIGTERM with sync calls in flight."""
    arbiter = stack.processes.procs["web"]
    with Traffic(stack.base_url, text_png) as traffic:
        time.sleep(3)
        os.kill(arbiter.pid, signal.SIGHUP)
        time.sleep(6)
        os.kill(arbiter.pid, signal.SIGHUP)
        time.sleep(6)
    failed = [r for r in traffic.results if not isinstance(r[1], int) or r[1] >= 300]
    report("gateway_sighup", requests=len(traffic.results), failed=len(failed), examples=failed[:3])
    assert traffic.results and not failed, failed[:5]

    # SIGTERM: in-flight sync requests finish before the gateway exits.
    with ThreadPoolExecutor(4) as pool:
        calls = [pool.submit(requests.post, stack.url("/ocr"), json={"image": b64(text_png)}, timeout=120)
                 for _ in range(4)]
        time.sleep(1.0)  # they are in flight (waiting for their results)
        os.kill(arbiter.pid, signal.SIGTERM)
        answers = [call.result().status_code for call in calls]
    arbiter.wait(90)
    report("gateway_sigterm", in_flight=len(answers), answered_200=answers.count(200))
    assert answers == [200] * 4, answers
    port = int(stack.base_url.rsplit(":", 1)[1])
    stack.processes.start_gateway(port=port, env={**stack.env, "OCR_WEB_WORKERS": "2"})
    wait_ready(stack.base_url)


def test_sigkill_of_the_gateway_loses_no_job(stack, receipt_jpeg):
    """The clients of sync calls lose their connection; their jobs finish and are pollable by id."""
    known = job_ids_in(stack.redis)
    with ThreadPoolExecutor(4) as pool:
        calls = [pool.submit(requests.post, stack.url("/ocr"), json={"image": b64(receipt_jpeg)}, timeout=120)
                 for _ in range(4)]
        deadline = time.monotonic() + 30
        while len(job_ids_in(stack.redis) - known) < 4:
            assert time.monotonic() < deadline, "the sync calls never created their jobs"
            time.sleep(0.05)
        stack.kill("web", signal.SIGKILL)
        outcomes = []
        for call in calls:
            try:
                outcomes.append(call.result().status_code)
            except requests.RequestException as exc:
                outcomes.append(type(exc).__name__)
    ids = sorted(job_ids_in(stack.redis) - known)
    port = int(stack.base_url.rsplit(":", 1)[1])
    stack.processes.start_gateway(port=port, env={**stack.env, "OCR_WEB_WORKERS": "2"})
    wait_ready(stack.base_url)
    final = poll_all(stack.base_url, ids, timeout=180)
    counts = tally(final)
    report("gateway_sigkill", client_outcomes=outcomes, **counts)
    assert counts["succeeded"] == 4, final


def open_slow_clients(base_url: str, count: int, stop: threading.Event) -> list[socket.socket]:
    """`count` connections: half trickle their headers a byte at a time, half send headers
    announcing a body and trickle the body; they keep at it (a byte per connection every 0.5 s)
    until stopped, bounded by 120 s."""
    host, port = base_url.rsplit("//", 1)[1].split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=10)
        sockets.append(sock)
    headers = f"POST /jobs HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"

    def trickle() -> None:
        deadline = time.monotonic() + 120
        position = 0
        for index, sock in enumerate(sockets):
            if index % 2:
                sock.sendall(headers.encode())  # complete headers, then a body that never finishes
        while not stop.is_set() and time.monotonic() < deadline:
            for index, sock in enumerate(sockets):
                data = (headers[position % len(headers)] if index % 2 == 0 else "x").encode()
                try:
                    sock.sendall(data)
                except OSError:
                    pass
            position += 1
            stop.wait(0.5)

    threading.Thread(target=trickle, daemon=True).start()
    return sockets


def measure(base_url: str, image: bytes, rounds: int) -> dict[str, list[float]]:
    """Seconds per call: GET /healthz and a small sync POST /ocr, alternating."""
    times: dict[str, list[float]] = {"healthz": [], "ocr": []}
    body = {"image": b64(image)}
    for _ in range(rounds):
        started = time.monotonic()
        response = requests.get(base_url + "/healthz", timeout=30)
        assert response.status_code == 200
        times["healthz"].append(time.monotonic() - started)
        started = time.monotonic()
        response = requests.post(base_url + "/ocr", json=body, timeout=60)
        assert response.status_code == 200, response.text
        times["ocr"].append(time.monotonic() - started)
    return times


def summary(times: dict[str, list[float]]) -> dict[str, float]:
    return {f"{name}_{q}": round(percentile(values, int(q[1:])), 3)
            for name, values in times.items() for q in ("p50", "p99")}


SLOW_CLIENTS = 200
ROUNDS = 20


def test_slow_clients_do_not_stop_the_others(stack, text_png):
    """200 connections trickling a byte every 0.5 s: health checks and small sync /ocr calls keep
    answering; their p99 stays within 2x the quiet p99 (quiet measured before and after, the
    larger taken, so a busy moment on the shared box does not decide). gunicorn closes a
    connection whose headers take longer than its keepalive (5 s) to arrive; slow bodies stay
    open, each held by a greenlet, not a thread.

    p99 of 20 calls is their slowest, and another session's burst on the shared 2-core box can
    slow any one call: a failed comparison is measured once more (both attempts reported)."""
    measure(stack.base_url, text_png, 3)  # warm up
    attempts = []
    for _ in range(2):
        figures, ok = slow_client_attempt(stack, text_png)
        attempts.append(figures)
        if ok:
            break
    report("slow_clients", attempts=attempts)
    assert ok, attempts


def slow_client_attempt(stack, image: bytes) -> tuple[dict, bool]:
    quiet_before = measure(stack.base_url, image, ROUNDS)
    stop = threading.Event()
    sockets = open_slow_clients(stack.base_url, SLOW_CLIENTS, stop)
    try:
        time.sleep(2)
        slow = measure(stack.base_url, image, ROUNDS)
        still_open = sum(1 for sock in sockets if _open(sock))
    finally:
        stop.set()
        for sock in sockets:
            sock.close()
    quiet_after = measure(stack.base_url, image, ROUNDS)
    quiet = {name: quiet_before[name] + quiet_after[name] for name in quiet_before}
    figures = {"slow_connections": SLOW_CLIENTS, "still_open_after_measuring": still_open,
               "quiet": summary(quiet), "with_slow_clients": summary(slow)}
    ok = True
    for name, floor in (("healthz", 0.05), ("ocr", 0.0)):
        quiet_p99 = max(percentile(quiet_before[name], 99), percentile(quiet_after[name], 99))
        # /healthz answers in ~10 ms, where the scheduler noise of a shared box alone doubles a
        # figure: it must stay under 2x quiet or 50 ms. The sync /ocr call has no floor.
        figures[f"{name}_p99_ratio"] = round(percentile(slow[name], 99) / quiet_p99, 2)
        ok = ok and percentile(slow[name], 99) <= max(2 * quiet_p99, floor)
    return figures, ok


def _open(sock: socket.socket) -> bool:
    try:
        sock.setblocking(False)
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def test_a_too_large_body_is_answered_413_that_urllib_can_read(stack):
    """urllib sends the whole 30 MB body before it reads the answer: the gateway reads and drops
    the body (up to twice the limit) before closing, so the client gets the 413, not EPIPE."""
    limit = requests.get(stack.url("/limits"), timeout=10).json()["max_body_bytes"]
    body = json.dumps({"image": "A" * (30 * 1024 * 1024)}).encode()
    assert limit < len(body) <= 2 * limit
    for content_type in ("application/json", "multipart/form-data; boundary=xyz"):
        data = body if content_type == "application/json" else (
            b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
            + body + b"\r\n--xyz--\r\n")
        request = urllib.request.Request(stack.url("/jobs"), data=data, method="POST",
                                         headers={"Content-Type": content_type})
        started = time.monotonic()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        took = time.monotonic() - started
        assert refused.value.code == 413
        error = json.loads(refused.value.read())["error"]
        report("too_large_body", content_type=content_type.split(";")[0], body_bytes=len(data), status=413,
               code=error["code"], seconds=round(took, 2))
        assert error["code"] == "payload_too_large" and str(limit) in error["message"]
