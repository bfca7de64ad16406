"""Completion callbacks and Idempotency-Key against the real stack (Redis, Celery worker, gunicorn):
a signed callback reaches a receiver on loopback once, after a receiver error; private
addresses are refused by default; one key gives one job, a different body gives 409; the client
sends a key with every submission (a lost answer retried makes no second job), --layout and
--callback-url."""
from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from tests.callback_receiver import SECRET, Receiver

from .helpers import b64, wait_for

CALLBACK_ENV = {"OCR_CALLBACK_SECRET": SECRET, "OCR_CALLBACK_ALLOW_PRIVATE": "true",
                "OCR_CALLBACK_RETRY_INITIAL": "0.5", "OCR_CALLBACK_MAX_SECONDS": "60"}


@pytest.fixture(scope="module")
def callback_stack(start_service):
    return start_service("callbacks", CALLBACK_ENV)


@pytest.fixture
def receiver():
    server = Receiver(statuses=[503, 200])
    yield server
    server.close()


def wait_until(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_finished_job_is_called_back_once_signed_after_a_receiver_error(callback_stack, receiver, text_png):
    response = requests.post(callback_stack.url("/jobs"), files={"file": ("t.png", text_png)},
                             data={"callback_url": receiver.url, "output_format": "text"}, timeout=30)
    assert response.status_code == 202, response.text
    job_url = callback_stack.url(response.json()["url"])
    job = wait_for(job_url)
    assert job["status"] == "succeeded"

    wait_until(lambda: any(r.answered == 200 for r in receiver.received))
    job = wait_until(lambda: (body := requests.get(job_url, timeout=10).json())["callback"]["status"] != "pending"
                     and body)
    assert job["callback"] == {"url": receiver.url, "status": "delivered", "attempts": 2, "last_error": None}
    time.sleep(2)  # nothing more comes: delivered once
    assert [r.answered for r in receiver.received] == [503, 200]
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == job["id"]
    event = Webhook(SECRET).verify(second.body, second.headers)
    assert event["type"] == "job.succeeded"
    assert event["data"]["id"] == job["id"] and event["data"]["status"] == "succeeded"
    assert "HELLO WORLD" in event["data"]["result"]["content"]


def test_a_canceled_job_is_called_back_by_the_gateway_s_transition(callback_stack, receiver, receipt_jpeg):
    receiver.statuses = [200]
    blocker = requests.post(callback_stack.url("/jobs"), json={"image": b64(receipt_jpeg)}, timeout=30).json()
    response = requests.post(callback_stack.url("/jobs"), json={"image": b64(receipt_jpeg),
                                                               "callback_url": receiver.url}, timeout=30)
    job_id = response.json()["id"]
    assert requests.delete(callback_stack.url(f"/jobs/{job_id}"), timeout=10).status_code == 200
    wait_until(lambda: receiver.received)
    event = Webhook(SECRET).verify(receiver.received[0].body, receiver.received[0].headers)
    assert event["type"] == "job.canceled" and event["data"]["id"] == job_id
    wait_for(callback_stack.url(blocker["url"]))


def test_a_private_callback_address_is_refused_by_default(live_service, text_png):
    # The default stack has no callback secret: callbacks are refused outright.
    response = requests.post(live_service.url("/jobs"), json={"image": b64(text_png),
                                                             "callback_url": "https://hooks.example.com/x"}, timeout=30)
    assert response.status_code == 400 and response.json()["error"]["code"] == "callbacks_disabled"


def test_submit_time_url_rules(app_with_secret):
    client = app_with_secret.test_client()
    for url, words in (("http://127.0.0.1:8080/hook", "not public"), ("http://[::1]/", "not public"),
                       ("http://169.254.169.254/latest", "metadata"), ("http://localhost/", "localhost"),
                       ("ftp://example.com/", "http"), ("https://u:p@example.com/", "credentials")):
        response = client.post("/jobs", json={"image": "aGVsbG8=", "callback_url": url})
        assert response.status_code == 400, url
        error = response.get_json()["error"]
        assert error["code"] == "invalid_callback_url" and words in error["message"], (url, error)


@pytest.fixture
def app_with_secret():
    from jobs.settings import Settings
    from web import create_app

    app = create_app(Settings(redis_url="redis://127.0.0.1:9/0", callback_secret=SECRET))
    app.config.update(TESTING=True)
    return app


def test_one_idempotency_key_gives_one_job_and_another_body_409(live_service, text_png, make_text_image):
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    first = requests.post(live_service.url("/jobs"), files={"file": ("t.png", text_png)}, headers=headers,
                          timeout=30)
    # The same request again (multipart, so a new boundary: the body's bytes differ, the request does not).
    again = requests.post(live_service.url("/jobs"), files={"file": ("t.png", text_png)}, headers=headers,
                          timeout=30)
    assert first.status_code == again.status_code == 202, (first.text, again.text)
    assert first.json()["id"] == again.json()["id"]
    other = requests.post(live_service.url("/jobs"), files={"file": ("t.png", make_text_image(["OTHER"]))},
                          headers=headers, timeout=30)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert first.json()["id"] not in other.text
    options = requests.post(live_service.url("/jobs"), files={"file": ("t.png", text_png)},
                            data={"output_format": "text"}, headers=headers, timeout=30)
    assert options.status_code == 409
    # Another key: another job.
    fresh = requests.post(live_service.url("/jobs"), files={"file": ("t.png", text_png)},
                          headers={"Idempotency-Key": key + "-2"}, timeout=30)
    assert fresh.status_code == 202 and fresh.json()["id"] != first.json()["id"]
    wait_for(live_service.url(first.json()["url"]))
    wait_for(live_service.url(fresh.json()["url"]))


def test_sync_ocr_with_one_key_waits_on_the_same_job(live_service, text_png):
    headers = {"Idempotency-Key": "ocr-" + uuid.uuid4().hex}
    body = {"image": b64(text_png), "output_format": "text"}
    first = requests.post(live_service.url("/ocr"), json=body, headers=headers, timeout=120)
    again = requests.post(live_service.url("/ocr"), json=body, headers=headers, timeout=120)
    assert first.status_code == again.status_code == 200
    assert first.text == again.text and "HELLO WORLD" in first.text
    assert first.headers["X-Processing-Time"] == again.headers["X-Processing-Time"]  # one job, not two
    other = requests.post(live_service.url("/ocr"), json={**body, "output_format": "markdown"}, headers=headers,
                          timeout=30)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"


def test_a_bad_idempotency_key_is_400(live_service, text_png):
    for key in ("has space", "x" * 256, "ünïcode"):
        response = requests.post(live_service.url("/jobs"), json={"image": b64(text_png)},
                                 headers={"Idempotency-Key": key.encode().decode("latin-1")}, timeout=30)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_idempotency_key"


def test_concurrent_sync_retries_with_one_key_all_get_the_one_result(live_service, receipt_jpeg):
    """Several requests wait on one job at once (a client that retried while the first still waits):
    each is answered when it ends, none waits out the sync timeout."""
    from concurrent.futures import ThreadPoolExecutor

    headers = {"Idempotency-Key": "many-" + uuid.uuid4().hex}
    body = {"image": b64(receipt_jpeg), "output_format": "text"}
    started = time.monotonic()
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: requests.post(live_service.url("/ocr"), json=body, headers=headers,
                                                        timeout=120), range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len({a.text for a in answers}) == 1 and len({a.headers["X-Processing-Time"] for a in answers}) == 1
    assert time.monotonic() - started < 50  # well inside the 60 s sync timeout: nobody waited it out


# ---------- the client (ocrclient, ocrserve) against the live gateway ----------

class LosingProxy:
    """An HTTP proxy to the gateway that forwards every request, records what it forwarded, and
    drops the answers of the first `lose` POST /jobs (the gateway made the job; the client never
    hears of it): the lost answer a retry must not turn into a second job."""

    def __init__(self, upstream: str, lose: int = 0):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.upstream, self.lose = upstream, lose
        self.forwarded: list[tuple[str, str, dict[str, str], bytes, int, bytes]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.request(self.command, proxy.upstream + self.path, headers=headers, data=body,
                                          timeout=60)
                proxy.forwarded.append((self.command, self.path, headers, body, answer.status_code, answer.content))
                if self.command == "POST" and self.path == "/jobs" and proxy.lose > 0:
                    proxy.lose -= 1
                    self.close_connection = True  # no answer at all: the connection just closes
                    return
                self.send_response(answer.status_code)
                for name in ("Content-Type", "Location", "Retry-After"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def submissions(self) -> list[tuple[dict[str, str], bytes, int, bytes]]:
        return [(h, body, status, answer) for method, path, h, body, status, answer in self.forwarded
                if (method, path) == ("POST", "/jobs")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def jobs_created(stack) -> int:
    return len(list(stack.redis.scan_iter("ocr:job:*", count=1000)))


def test_the_client_retries_a_lost_submission_under_its_key_and_gets_the_one_job(live_service, text_png):
    from ocrclient import Client

    proxy = LosingProxy(live_service.base_url, lose=1)
    try:
        before = jobs_created(live_service)
        result = Client(proxy.url, retries=2).ocr(text_png, filename="hello.png", output_format="text")
        assert result["content"].startswith("HELLO WORLD")
        (first_headers, _, first_status, first_answer), (again_headers, _, again_status, again_answer) = \
            proxy.submissions()
        key = first_headers["Idempotency-Key"]
        assert uuid.UUID(key) and again_headers["Idempotency-Key"] == key
        assert first_status == again_status == 202
        assert json.loads(first_answer)["id"] == json.loads(again_answer)["id"]  # the retry found the first job
        assert jobs_created(live_service) - before == 1
        # Another submission: another key, another job.
        Client(proxy.url).submit(text_png, filename="hello.png")
        assert proxy.submissions()[-1][0]["Idempotency-Key"] != key
    finally:
        proxy.close()


def test_ocrserve_sends_layout_and_the_server_accepts_it(live_service, text_png, tmp_path):
    import subprocess
    import sys

    (tmp_path / "hello.png").write_bytes(text_png)
    proxy = LosingProxy(live_service.base_url)
    try:
        done = subprocess.run([sys.executable, "-m", "ocrclient", "ocr", str(tmp_path / "hello.png"), "--url",
                               proxy.url, "--layout"], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["results"][0]["text"] == "HELLO WORLD"
        [(headers, body, status, _)] = proxy.submissions()
        assert status == 202 and uuid.UUID(headers["Idempotency-Key"])
        assert b'name="layout"\r\n\r\ntrue\r\n' in body
    finally:
        proxy.close()


def test_ocrserve_callback_url_gets_the_signed_callback(callback_stack, receiver, text_png, tmp_path):
    import subprocess
    import sys

    receiver.statuses = [200]
    (tmp_path / "hello.png").write_bytes(text_png)
    done = subprocess.run([sys.executable, "-m", "ocrclient", "ocr", str(tmp_path / "hello.png"), "--url",
                           callback_stack.base_url, "--format", "text", "--callback-url", receiver.url],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("HELLO WORLD")
    wait_until(lambda: receiver.received)
    event = Webhook(SECRET).verify(receiver.received[0].body, receiver.received[0].headers)
    assert event["type"] == "job.succeeded" and event["data"]["callback"]["url"] == receiver.url
    assert event["data"]["result"]["content"].startswith("HELLO WORLD")
