"""Every endpoint over real HTTP: gunicorn gateway -> Redis -> Celery worker -> OCR core, nothing mocked."""
from __future__ import annotations

import base64
import secrets
import time
from datetime import datetime, timezone

import pytest
import requests

from .helpers import OCR_TIMEOUT, TERMINAL, b64, submit, wait_for


def words(body: dict) -> str:
    return " ".join(line["text"] for line in body["results"]).upper()


def assert_ocr_body(body: dict) -> None:
    """Exactly the contract: {"processing_time", "results": [{"text", "confidence", "bounding_box"}]}."""
    assert set(body) == {"processing_time", "results"}, body
    assert isinstance(body["processing_time"], (int, float)) and body["processing_time"] > 0
    for line in body["results"]:
        assert set(line) == {"text", "confidence", "bounding_box"}, line
        assert isinstance(line["text"], str) and 0 <= line["confidence"] <= 1
        box = line["bounding_box"]
        assert len(box) == 4 and all(len(p) == 2 and all(isinstance(v, int) for v in p) for p in box), box


def parse_time(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_sync_ocr_json(live_service, text_png):
    response = requests.post(live_service.url("/ocr"), json={"image": b64(text_png)}, timeout=OCR_TIMEOUT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert_ocr_body(body)
    assert "HELLO WORLD" in words(body) and "12345" in words(body)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_sync_ocr_data_url_and_options(live_service, text_png):
    payload = {"image": "data:image/png;base64," + b64(text_png), "model": "ppocrv5-mobile",
               "use_angle_cls": False, "det_limit_side": 640}
    response = requests.post(live_service.url("/ocr"), json=payload, timeout=OCR_TIMEOUT)
    assert response.status_code == 200, response.text
    assert "HELLO" in words(response.json())


def test_sync_ocr_multipart(live_service, make_text_image):
    jpeg = make_text_image(["Multipart 2024"], fmt="JPEG")
    files = {"file": ("upload.bin", jpeg, "application/octet-stream")}  # the name and type say nothing
    response = requests.post(live_service.url("/ocr"), files=files, data={"use_angle_cls": "false"},
                             timeout=OCR_TIMEOUT)
    assert response.status_code == 200, response.text
    assert_ocr_body(response.json())
    assert "MULTIPART" in words(response.json())


def test_sync_ocr_of_an_image_the_worker_cannot_decode(live_service, text_png):
    """The header is fine (it passes the gateway), the pixel data is cut off: the worker's 422."""
    truncated = text_png[: len(text_png) // 2]
    response = requests.post(live_service.url("/ocr"), json={"image": b64(truncated)}, timeout=OCR_TIMEOUT)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "undecodable_image"


def test_validation_errors_over_http(live_service):
    response = requests.post(live_service.url("/ocr"), data=b"{oops", headers={"Content-Type": "application/json"},
                             timeout=10)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    response = requests.post(live_service.url("/jobs"), json={"image": "!!"}, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_base64"
    response = requests.post(live_service.url("/jobs"), files={"file": ("a.png", b"plain text")}, timeout=10)
    assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_media_type"
    # The body cap is enforced by the real server stack too (20 MB default, base64 inflated).
    too_big = b'{"image": "' + b"A" * (28 * 1024 * 1024) + b'"}'
    response = requests.post(live_service.url("/ocr"), data=too_big, headers={"Content-Type": "application/json"},
                             timeout=60)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def test_job_lifecycle(live_service, text_png):
    before = datetime.now(timezone.utc)
    response = requests.post(live_service.url("/jobs"), files={"file": ("t.png", text_png)},
                             data={"model": "ppocrv6-small"}, timeout=30)
    assert response.status_code == 202, response.text
    created = response.json()
    assert set(created) == {"id", "status", "url"} and created["status"] == "queued"
    assert response.headers["Location"] == created["url"] == f"/jobs/{created['id']}"
    assert len(base64.urlsafe_b64decode(created["id"] + "==")) >= 16  # at least 128 random bits

    job = wait_for(live_service.url(created["url"]))
    assert set(job) == {"id", "status", "created_at", "started_at", "finished_at", "progress", "result", "error"}
    assert job["status"] == "succeeded", job
    assert job["error"] is None and job["progress"] == {"done": 1, "total": 1}
    assert_ocr_body(job["result"])
    assert "HELLO WORLD" in words(job["result"])
    created_at, started_at, finished_at = (parse_time(job[k]) for k in ("created_at", "started_at", "finished_at"))
    assert before.replace(microsecond=0) <= created_at <= started_at <= finished_at

    # A finished job cannot be canceled; it stays as it was.
    response = requests.delete(live_service.url(created["url"]), timeout=10)
    assert response.status_code == 409 and response.json()["error"]["code"] == "job_finished"
    assert requests.get(live_service.url(created["url"]), timeout=10).json()["status"] == "succeeded"


def test_failed_job_reports_its_error(live_service, text_png):
    truncated = text_png[:200]
    job = wait_for(live_service.url(submit(live_service.base_url, truncated)["url"]))
    assert job["status"] == "failed" and job["result"] is None
    assert job["error"]["code"] == "undecodable_image" and job["error"]["message"]


def test_unknown_and_malformed_job_ids_are_404(live_service):
    for job_id in (secrets.token_urlsafe(16), "short", "../../etc/passwd"):
        for method in ("get", "delete"):
            response = requests.request(method, live_service.url(f"/jobs/{job_id}"), timeout=10)
            assert response.status_code == 404, (method, job_id, response.text)
            assert response.json()["error"]["code"] == "not_found"


def test_cancel_queued_and_running_jobs(live_service, receipt_jpeg, text_png):
    """A running job and one queued behind it are canceled; neither ever shows a result."""
    running = submit(live_service.base_url, receipt_jpeg)
    queued = submit(live_service.base_url, text_png)
    wait_for(live_service.url(running["url"]), statuses={"running"} | TERMINAL)

    response = requests.delete(live_service.url(queued["url"]), timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "canceled" and body["result"] is None and body["finished_at"]

    response = requests.delete(live_service.url(running["url"]), timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "canceled"
    assert requests.delete(live_service.url(running["url"]), timeout=10).status_code == 409

    # Let the worker reach both jobs: it finishes the receipt, drops its result, skips the other.
    marker = submit(live_service.base_url, text_png)
    assert wait_for(live_service.url(marker["url"]))["status"] == "succeeded"
    for job in (running, queued):
        final = requests.get(live_service.url(job["url"]), timeout=10).json()
        assert final["status"] == "canceled" and final["result"] is None, final


def test_sync_ocr_timeout_then_poll(live_service, receipt_jpeg):
    """A gateway whose sync timeout is shorter than the job: 504 with the job's URL, which then succeeds."""
    impatient = live_service.add_gateway("web-impatient", {"OCR_SYNC_TIMEOUT": "0.2"})
    response = requests.post(impatient + "/ocr", json={"image": b64(receipt_jpeg)}, timeout=30)
    assert response.status_code == 504, response.text
    body = response.json()
    assert body["error"]["code"] == "timeout" and body["url"] == f"/jobs/{body['id']}"
    job = wait_for(live_service.url(body["url"]))
    assert job["status"] == "succeeded" and len(job["result"]["results"]) > 10


def test_results_expire_after_the_ttl(live_service, text_png):
    forgetful = live_service.add_gateway("web-forgetful", {"OCR_RESULT_TTL": "4"})
    created = requests.post(forgetful + "/jobs", json={"image": b64(text_png)}, timeout=30).json()
    job = wait_for(forgetful + created["url"])
    assert job["status"] == "succeeded"
    finished = time.monotonic()
    while requests.get(forgetful + created["url"], timeout=10).status_code == 200:
        assert time.monotonic() - finished < 12, "the job outlived its 4 s TTL"
        time.sleep(0.2)
    response = requests.get(forgetful + created["url"], timeout=10)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert not live_service.redis.exists(f"ocr:upload:{created['id']}")


def test_health_models_and_openapi(live_service):
    assert requests.get(live_service.url("/healthz"), timeout=10).json() == {"status": "ok"}
    ready = requests.get(live_service.url("/readyz"), timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ready" and ready.json()["workers"] >= 1
    models = requests.get(live_service.url("/models"), timeout=10).json()
    assert models["default"] in models["models"] and "ppocrv5-mobile" in models["models"]
    document = requests.get(live_service.url("/openapi.json"), timeout=10).json()
    for path in ("/ocr", "/jobs", "/jobs/{job_id}", "/models", "/healthz", "/readyz", "/openapi.json"):
        assert path in document["paths"], path


def test_ui_is_served(live_service):
    page = requests.get(live_service.url("/"), timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert requests.get(live_service.url("/app.js"), timeout=10).status_code == 200


@pytest.mark.parametrize("method, path", [("GET", "/nowhere"), ("PATCH", "/jobs"), ("GET", "/ocr")])
def test_routing_errors_are_json(live_service, method, path):
    response = requests.request(method, live_service.url(path), timeout=10)
    assert response.status_code in (404, 405)
    assert response.json()["error"]["code"] in ("not_found", "method_not_allowed")
