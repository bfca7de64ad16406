"""Job metrics kept in Redis, so every worker host and every gateway see the same figures.

Workers are Celery prefork children, possibly on other machines: Prometheus' multi-process
files stay on one host, so they cannot carry the workers' figures to the gateway. Instead a
worker adds each finished job's stage times to small histograms in Redis (one hash per
histogram: a count per bucket, the total count and the sum, changed in one MULTI), and final
statuses to counters. The gateway's GET /metrics reads them at scrape time (web/metrics.py).
Counters only grow; a Redis that loses its data starts them again from zero, which
Prometheus' rate() treats as a counter reset.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from redis import Redis

from .model import FINAL, Status

STAGES = ("decode", "det", "cls", "rec")
# Seconds. A stage of a small image takes milliseconds, a whole PDF can take minutes.
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
WAIT_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

HISTOGRAMS = {
    "stage_seconds": STAGE_BUCKETS,  # label: stage
    "job_seconds": JOB_BUCKETS,  # time a worker spent on the job (started -> finished)
    "queue_wait_seconds": WAIT_BUCKETS,  # created -> started
}


@dataclass
class HistogramData:
    bounds: tuple[float, ...]
    buckets: list[int]  # per bucket, not cumulative; one more than bounds (the +Inf bucket)
    count: int = 0
    total: float = 0.0

    def cumulative(self) -> list[int]:
        out, running = [], 0
        for n in self.buckets:
            running += n
            out.append(running)
        return out


@dataclass
class Snapshot:
    finished: dict[str, int] = field(default_factory=dict)  # final status -> jobs
    failures: dict[str, int] = field(default_factory=dict)  # error code -> failed jobs
    histograms: dict[str, dict[str, HistogramData]] = field(default_factory=dict)  # name -> label -> data


def bucket_index(bounds: tuple[float, ...], value: float) -> int:
    for i, bound in enumerate(bounds):
        if value <= bound:
            return i
    return len(bounds)


class JobMetrics:
    """Writes (workers, job store) and reads (gateway) the shared job metrics."""

    def __init__(self, redis: Redis, prefix: str = "ocr"):
        self.redis = redis
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}:metrics:{name}"

    # writing
    def job_finished(self, status: Status, error_code: str | None = None) -> None:
        """Count a job reaching a final status (called once per job, after its compare-and-set)."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(self.key("finished"), str(status), 1)
            if status == Status.FAILED:
                pipe.hincrby(self.key("failures"), error_code or "unknown", 1)
            pipe.execute()

    def observe(self, samples: list[tuple[str, str, float]]) -> None:
        """Add (histogram, label, seconds) samples, all in one MULTI."""
        with self.redis.pipeline(transaction=True) as pipe:
            for name, label, value in samples:
                key = self.key(name)
                index = bucket_index(HISTOGRAMS[name], value)
                pipe.hincrby(key, f"{label}|{index}", 1)
                pipe.hincrby(key, f"{label}|count", 1)
                pipe.hincrbyfloat(key, f"{label}|sum", value)
            pipe.execute()

    # reading
    def snapshot(self) -> Snapshot:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self.key("finished"))
            pipe.hgetall(self.key("failures"))
            for name in HISTOGRAMS:
                pipe.hgetall(self.key(name))
            finished, failures, *histograms = pipe.execute()
        snap = Snapshot(
            finished={str(status): 0 for status in FINAL} | _ints(finished),
            failures=_ints(failures),
        )
        for (name, bounds), raw in zip(HISTOGRAMS.items(), histograms):
            snap.histograms[name] = _histograms(bounds, raw, STAGES if name == "stage_seconds" else ("",))
        return snap


def error_code(error_json: str | bytes | None) -> str | None:
    """The code of a job's stored error ({"code", "message"}), if any."""
    if not error_json:
        return None
    try:
        return json.loads(error_json).get("code")
    except (ValueError, AttributeError):
        return None


def _ints(raw: dict[bytes, bytes]) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in raw.items()}


def _histograms(
    bounds: tuple[float, ...], raw: dict[bytes, bytes], labels: tuple[str, ...]
) -> dict[str, HistogramData]:
    """Parse "<label>|<bucket index>", "<label>|count" and "<label>|sum" fields; known labels always appear."""
    out = {label: HistogramData(bounds, [0] * (len(bounds) + 1)) for label in labels}
    for key, value in raw.items():
        label, _, part = key.decode().rpartition("|")
        data = out.setdefault(label, HistogramData(bounds, [0] * (len(bounds) + 1)))
        if part == "count":
            data.count = int(value)
        elif part == "sum":
            data.total = float(value)
        elif part.isdigit() and int(part) <= len(bounds):
            data.buckets[int(part)] = int(value)
    return out
