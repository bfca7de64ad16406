"""GET /metrics in Prometheus' format: the gateway's own request metrics and the service-wide job metrics.

- Requests by route template, method and status, and their latency: prometheus_client
  metrics in this process. Under gunicorn (several processes) they are multi-process
  metrics: web/gunicorn_conf.py points PROMETHEUS_MULTIPROC_DIR at a fresh directory before
  anything imports prometheus_client, each process writes its samples there, and a scrape
  merges them, whichever process answers it.
- Queue depth, live worker children, jobs by final status, failures by error code, and the
  workers' OCR time per stage, run time and queue wait: read from Redis at scrape time
  (jobs/metrics.py explains why they live there). They describe the whole service, so
  every gateway reports the same values: aggregate them with max(), not sum().
"""
from __future__ import annotations

import logging
import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.utils import floatToGoString

from jobs import logs
from jobs.metrics import JobMetrics
from jobs.model import FINAL

log = logging.getLogger(__name__)

# This process's metrics; in multi-process mode their values go to PROMETHEUS_MULTIPROC_DIR.
_REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "ocr_http_requests", "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"], registry=_REGISTRY,
)
LATENCY = Histogram(
    "ocr_http_request_duration_seconds", "Time to answer an HTTP request (POST /ocr includes the OCR), by route.",
    ["route", "method"], registry=_REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics():
    """Prometheus metrics: requests, queue depth, jobs by final status, OCR time per stage."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_LocalCollector())
    registry.register(ServiceCollector(current_app.extensions["ocr_job_queue"]))
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry), content_type=content_type)


class _LocalCollector:
    """This process's metrics, when not under gunicorn's multi-process mode (e.g. Flask's test client)."""

    def collect(self):
        return _REGISTRY.collect()


class ServiceCollector:
    """The service-wide figures, read from Redis at each scrape."""

    def __init__(self, queue):
        self.queue = queue

    def collect(self):
        up = GaugeMetricFamily("ocr_redis_up", "1 if this gateway reached Redis while answering this scrape.")
        try:
            depth = self.queue.queued_jobs()
            workers = self.queue.workers_alive()
            snap = JobMetrics(self.queue.redis, self.queue.settings.key_prefix).snapshot()
        except Exception as exc:  # Redis down: still answer, with the gateway's own metrics
            log.warning("metrics: Redis unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("ocr_queue_depth", "Jobs waiting in the queue for a worker.", value=depth)
        yield GaugeMetricFamily("ocr_workers_alive", "Worker children that reported alive within the heartbeat TTL.",
                                value=workers)

        finished = CounterMetricFamily("ocr_jobs_finished", "Jobs that reached a final status.", labels=["status"])
        for status in map(str, FINAL):
            finished.add_metric([status], snap.finished.get(status, 0))
        yield finished
        failures = CounterMetricFamily("ocr_job_failures", "Failed jobs by error code.", labels=["code"])
        for code, count in sorted(snap.failures.items()):
            failures.add_metric([code], count)
        yield failures

        docs = {
            "stage_seconds": ("ocr_stage_duration_seconds", "OCR time per pipeline stage of each succeeded job, "
                                                            "summed over its pages.", ["stage"]),
            "job_seconds": ("ocr_job_duration_seconds", "Time a worker child spent on a job.", []),
            "queue_wait_seconds": ("ocr_job_queue_wait_seconds", "Time from a job's creation to a worker taking it.",
                                   []),
        }
        for key, (name, documentation, labels) in docs.items():
            family = HistogramMetricFamily(name, documentation, labels=labels)
            for label, data in snap.histograms[key].items():
                cumulative = data.cumulative()
                buckets = [(floatToGoString(b), c) for b, c in zip(data.bounds, cumulative)]
                buckets.append(("+Inf", max(data.count, cumulative[-1])))
                family.add_metric([label] if labels else [], buckets, data.total)
            yield family


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def _before():
    g.metrics_started = time.perf_counter()
    logs.clear()  # a pooled thread carries nothing over from its previous request
    job_id = (request.view_args or {}).get("job_id")
    if logs.looks_like_job_id(job_id):
        logs.bind(job_id=job_id)


def _after(response):
    method = request.method if request.method in METHODS else "other"
    route = _route()
    try:
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            LATENCY.labels(route, method).observe(time.perf_counter() - started)
    except Exception as exc:  # e.g. the metrics directory vanished: count nothing, answer anyway
        log.warning("metrics: could not record %s %s: %s", method, route, exc)
    return response


def _teardown(_exc):
    logs.clear()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(_teardown)
