"""GET /metrics and the JSON logs, against the live service (real gunicorn, worker and Redis)."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from prometheus_client.parser import text_string_to_metric_families

from worker.cores import plan_core_groups

from .helpers import OCR_TIMEOUT, b64, submit, wait_for

STAGES = ("decode", "det", "cls", "rec")


def scrape(base_url: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from one GET /metrics."""
    response = requests.get(base_url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def eventually(check, timeout: float = 10.0):
    """The worker records a job's figures just after the job turns final; give it a moment."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_metrics_move_with_a_real_ocr_request(live_service, text_png):
    before = scrape(live_service.base_url)
    response = requests.post(live_service.url("/ocr"), json={"image": b64(text_png)}, timeout=OCR_TIMEOUT)
    assert response.status_code == 200, response.text
    bad = requests.post(live_service.url("/ocr"), json={"image": b64(text_png[:200])}, timeout=OCR_TIMEOUT)
    assert bad.status_code == 422, bad.text  # the header passes the gateway, the worker cannot decode it

    def moved():
        after = scrape(live_service.base_url)
        delta = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
        assert delta("ocr_http_requests_total", route="/ocr", method="POST", status="200") == 1
        assert delta("ocr_http_requests_total", route="/ocr", method="POST", status="422") == 1
        assert delta("ocr_http_request_duration_seconds_count", route="/ocr", method="POST") == 2
        assert delta("ocr_http_request_duration_seconds_sum", route="/ocr", method="POST") > 0
        assert delta("ocr_jobs_finished_total", status="succeeded") >= 1
        assert delta("ocr_jobs_finished_total", status="failed") >= 1
        assert delta("ocr_job_failures_total", code="undecodable_image") >= 1
        for stage in STAGES:  # only the succeeded job has stage times
            assert delta("ocr_stage_duration_seconds_count", stage=stage) >= 1, stage
            assert delta("ocr_stage_duration_seconds_bucket", stage=stage, le="+Inf") >= 1, stage
        assert delta("ocr_stage_duration_seconds_sum", stage="det") > 0
        assert delta("ocr_job_duration_seconds_count") >= 2
        assert delta("ocr_job_queue_wait_seconds_count") >= 2
        assert value(after, "ocr_redis_up") == 1
        assert value(after, "ocr_workers_alive") >= 1
        assert ("ocr_queue_depth", ()) in after
        return after

    after = eventually(moved)
    # Histogram buckets are cumulative and end at the count.
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in after.items()
                     if k[0] == "ocr_stage_duration_seconds_bucket" and dict(k[1])["stage"] == "rec")
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)
    assert buckets[-1][1] == value(after, "ocr_stage_duration_seconds_count", stage="rec")


def test_queue_depth_counts_waiting_jobs(live_service):
    """The gauge is Redis' queue length at scrape time (seen with an extra message parked in it)."""
    redis = live_service.redis
    redis.rpush("ocr-observability-probe", "x")  # not the live queue: its workers would take it
    try:
        depth = value(scrape(live_service.base_url), "ocr_queue_depth")
        assert depth == redis.llen("ocr")
    finally:
        redis.delete("ocr-observability-probe")


def test_request_metrics_are_merged_across_gunicorn_processes(live_service):
    """Two gunicorn workers: every scrape sees every request, whichever process answered it."""
    name = "web-metrics"
    base_url = live_service.add_gateway(name, {"OCR_WEB_WORKERS": "2"})
    eventually(lambda: _assert_equal(live_service.log(name).count("gateway ready"), 2), timeout=60)

    def healthz(_):
        assert requests.get(base_url + "/healthz", timeout=10).status_code == 200  # a new connection each

    served_by: set[int] = set()
    sent = 1  # add_gateway's readiness probe
    with ThreadPoolExecutor(8) as pool:
        while len(served_by) < 2 and sent < 400:
            list(pool.map(healthz, range(40)))
            sent += 40
            time.sleep(0.2)  # access lines are written just after the responses
            served_by = {json.loads(line)["pid"] for line in live_service.log(name).splitlines()
                         if line.startswith("{") and '"path": "/healthz"' in line}
    assert len(served_by) == 2, "both processes should have answered some requests"

    def served() -> int:
        # Every answer has its access line. (Not `sent`: a readiness probe that timed out while
        # the processes booted may still have been answered.)
        return sum(1 for line in live_service.log(name).splitlines()
                   if line.startswith("{") and '"path": "/healthz"' in line)

    for _ in range(6):  # whichever process answers the scrape
        eventually(lambda: _assert_equal(
            value(scrape(base_url), "ocr_http_requests_total", route="/healthz", method="GET", status="200"),
            served()))


def _assert_equal(a, b):
    assert a == b, (a, b)


def test_a_jobs_log_lines_all_carry_its_id(live_service, text_png):
    job = submit(live_service.base_url, text_png)
    job_id = job["id"]
    assert wait_for(live_service.url(job["url"]))["status"] == "succeeded"
    canceled = submit(live_service.base_url, text_png)
    requests.delete(live_service.url(canceled["url"]), timeout=10)

    def lines(name: str, about: str) -> list[dict]:
        found = []
        for line in live_service.log(name).splitlines():
            if about in line:
                record = json.loads(line)  # every line about the job is one JSON object
                assert record.get("job_id") == about, line
                found.append(record)
        return found

    def complete():
        web, worker = lines("web", job_id), lines("worker", job_id)
        events = [r.get("event") for r in web + worker]
        assert {"accepted", "queued", "started", "finished"} <= set(events), events
        return web, worker

    web, worker = eventually(complete)
    events = {r["event"]: r for r in web + worker if r.get("event")}
    assert [r["event"] for r in web if r.get("event")] == ["accepted", "queued"]
    assert all(r["service"] == "web" for r in web) and all(r["service"] == "worker" for r in worker)
    started, finished = events["started"], events["finished"]
    assert started["cpus"] == list(plan_core_groups(None, 1).group_for(0))  # the child's core group
    assert started["worker"].split(":")[1] == str(started["pid"]) and started["queued_s"] >= 0
    assert finished["status"] == "succeeded" and finished["run_s"] > 0
    assert set(finished["stages"]) == set(STAGES) and all(t >= 0 for t in finished["stages"].values())
    assert any("GET /jobs/" in r["msg"] for r in web), "the polls' access lines name the job too"
    assert any(r["logger"].startswith("celery") for r in worker), "Celery's own task lines name the job too"

    def canceled_logged():
        records = lines("web", canceled["id"])
        assert any(r.get("event") == "finished" and r["status"] == "canceled" for r in records)
    eventually(canceled_logged)
