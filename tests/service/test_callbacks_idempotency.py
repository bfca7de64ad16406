"""Completion callbacks and Idempotency-Key against the real stack (Redis, Celery worker, gunicorn):
a signed callback reaches a receiver on loopback once, after a receiver error; private
addresses are refused by default; one key gives one job, a different body gives 409."""
from __future__ import annotations

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
