"""The fault suite's stacks: real redis-server processes (with AOF, or a master, a replica and
three sentinels), real Celery workers and a real gunicorn gateway, all on loopback.

Every scenario reports its figures with `report(...)`: they are printed at the end of the
run (and written to FAULTS_REPORT, a JSON-lines file, when that variable is set), so the
numbers in docs/RELIABILITY.md come from a command anyone can run again.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from redis import Redis

from jobs.connection import connect
from jobs.settings import Settings
from ops.run_local import LocalStack, free_port
from tests.conftest import BASE_ENV, ServiceStack

# One core per worker child: two workers can each have a core of the 2-core box. Jobs get
# roomy limits (the box is shared and slow at times); leases are short so the suite is quick.
FAULT_ENV = {
    "OCR_CORES_PER_GROUP": "1",
    "OCR_WORKER_CHILDREN": "1",
    "OCR_HEARTBEAT_INTERVAL": "0.5",
    "OCR_JOB_LEASE_TTL": "3",
    "OCR_SOFT_TIME_LIMIT": "40",
    "OCR_HARD_TIME_LIMIT": "45",
    "OCR_MAX_PDF_PAGES": "8",
    "OCR_PAGE_TIME_LIMIT": "20",
    "OCR_SYNC_TIMEOUT": "120",
    "OCR_LOG_LEVEL": "INFO",
}
GATEWAY_ENV = {"OCR_WEB_WORKERS": "2"}
# What users run (`make run`, `python -m worker` with nothing set): one child per core, the
# default lease, heartbeat, visibility timeout and limits; only the log level, for the log checks.
DEFAULT_ENV = {"OCR_LOG_LEVEL": "INFO"}

_REPORTS: list[dict] = []


def report(scenario: str, **figures) -> None:
    """Record a scenario's figures (printed in the terminal summary)."""
    entry = {"scenario": scenario, **figures}
    _REPORTS.append(entry)
    print(f"\n[faults] {json.dumps(entry)}", flush=True)
    path = os.environ.get("FAULTS_REPORT")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(entry) + "\n")


def pytest_terminal_summary(terminalreporter) -> None:
    if _REPORTS:
        terminalreporter.section("fault suite figures")
        for entry in _REPORTS:
            terminalreporter.write_line(json.dumps(entry))


class FaultStack(ServiceStack):
    """A ServiceStack whose parts the test kills and restarts by name."""

    @property
    def redis(self) -> Redis:
        """A client for the current master (through the sentinels when there are some)."""
        return connect(Settings(redis_url=self.redis_url), socket_timeout=5)

    def pid(self, name: str) -> int:
        return self.processes.procs[name].pid

    def kill(self, name: str, sig: int = 9) -> None:
        """Signal the process group (a worker with its children, a gateway with its workers)."""
        self.processes.signal(name, sig)
        self.processes.procs[name].wait(30)


def wait_ready(base_url: str, timeout: float = 180, processes: LocalStack | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for name in processes.procs if processes else ():
            processes._check_alive(name)  # a process that exited is an error now, not a timeout
        try:
            if requests.get(base_url + "/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"{base_url} not ready after {timeout:g} s"
        time.sleep(0.2)


def wait_workers(stack: FaultStack, count: int, timeout: float = 180) -> None:
    """Until `count` worker children report alive (models loaded)."""
    deadline = time.monotonic() + timeout
    while True:
        for name in stack.processes.procs:
            stack.processes._check_alive(name)
        try:
            alive = requests.get(stack.url("/readyz"), timeout=5).json().get("workers", 0)
        except (requests.RequestException, ValueError):
            alive = 0
        if alive >= count:
            return
        assert time.monotonic() < deadline, f"only {alive} of {count} worker children alive"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def fault_stacks(tmp_path_factory) -> Iterator[Callable[..., FaultStack]]:
    """Builds stacks: Redis (with AOF, or under Sentinel), `workers` workers (each on its own CPU
    where there are enough), one gateway; all stopped when the module ends."""
    made: list[FaultStack] = []

    def build(name: str, env: dict[str, str] | None = None, *, workers: int = 1, aof: bool = False,
              sentinel: bool = False, gateway_env: dict[str, str] | None = None,
              defaults: bool = False) -> FaultStack:
        """`defaults`: DEFAULT_ENV instead of FAULT_ENV, and every worker on every CPU (a second
        `python -m worker` on the same machine), so each has its children per core."""
        log_dir = tmp_path_factory.mktemp(name)
        env = {**(DEFAULT_ENV if defaults else FAULT_ENV), **(env or {})}
        processes = LocalStack(env=BASE_ENV, log_dir=log_dir)
        try:
            if sentinel:
                redis_url = start_sentinel_group(processes)
            else:
                redis_url = processes.start_redis(aof=aof)
            cpus = sorted(os.sched_getaffinity(0))
            for index in range(workers):
                worker_cpus = [cpus[index % len(cpus)]] if workers > 1 and not defaults else None
                processes.start_worker(name="worker" if index == 0 else f"worker{index + 1}", env=env,
                                       cpus=worker_cpus)
            base_url = processes.start_gateway(env={**env, **GATEWAY_ENV, **(gateway_env or {})})
            stack = FaultStack(processes, base_url, redis_url, log_dir, env)
            made.append(stack)
            wait_ready(base_url, processes=processes)
            wait_workers(stack, workers * (len(cpus) if defaults else 1))
        except BaseException:
            processes.stop_all()
            for log in sorted(log_dir.glob("*.log")):
                print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}")
            raise
        return stack

    yield build
    for stack in made:
        stack.close()


def start_sentinel_group(processes: LocalStack) -> str:
    """A master, one replica and three sentinels on loopback; returns the service's sentinel:// URL."""
    master = free_port()
    processes.start_redis(master, name="redis-a", aof=True, service=False)
    processes.start_redis(name="redis-b", aof=True, service=False,
                          extra=("--replicaof", "127.0.0.1", str(master)))
    ports = [free_port() for _ in range(3)]
    for index, port in enumerate(ports):
        processes.start_sentinel(port, master, name=f"sentinel{index + 1}", down_after_ms=1000,
                                 failover_timeout_ms=5000)
    url = ";".join(f"sentinel://127.0.0.1:{port}" for port in ports) + "/0"
    processes.redis_url = url
    processes.env["OCR_REDIS_URL"] = url
    # The replica is in sync and every sentinel knows it before the service starts.
    deadline = time.monotonic() + 30
    while True:
        sentinel = Redis(port=ports[0], socket_timeout=2)
        replicas = sentinel.sentinel_slaves("mymaster")
        if replicas and all(r.get("master-link-status") == "ok" for r in replicas):
            break
        assert time.monotonic() < deadline, f"the replica never synced: {replicas}"
        time.sleep(0.2)
    return url


def job_ids_in(redis: Redis) -> set[str]:
    return {key.decode().rsplit(":", 1)[1] for key in redis.scan_iter("ocr:job:*", count=1000)}


def poll_all(base_url: str, ids: list[str], timeout: float) -> dict[str, dict]:
    """GET every job until each is final (or 404: lost); {id: body or {"status": "lost"}}."""
    final: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while len(final) < len(ids) and time.monotonic() < deadline:
        for job_id in ids:
            if job_id in final:
                continue
            try:
                response = requests.get(f"{base_url}/jobs/{job_id}", timeout=10)
            except requests.RequestException:
                continue
            if response.status_code == 404:
                final[job_id] = {"status": "lost"}
            elif response.status_code == 200 and response.json()["status"] in {"succeeded", "failed", "canceled"}:
                final[job_id] = response.json()
        time.sleep(0.25)
    for job_id in ids:
        final.setdefault(job_id, {"status": "unfinished"})
    return final


def tally(final: dict[str, dict]) -> dict[str, int]:
    counts = {"accepted": len(final), "succeeded": 0, "failed": 0, "canceled": 0, "lost": 0, "unfinished": 0}
    for body in final.values():
        counts[body["status"]] += 1
    return counts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def unacked_ids(redis: Redis) -> set[str]:
    """Task ids (a job's id, or "<job id>:<part>") of the messages in kombu's `unacked` hash."""
    ids = set()
    for raw in redis.hvals("unacked"):
        try:
            ids.add(json.loads(raw)[0]["headers"]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            ids.add("?")
    return ids


class UnackedWatch:
    """Samples kombu's unacked index every 20 ms in a thread (for at most `limit` seconds): when
    each message held at the start left its holder (acknowledged, or restored to its queue).

    A restored message keeps its delivery tag and is often taken again within a millisecond,
    so its leaving is seen in the index: its entry goes, or its delivery time moves past the
    one it had at the start (a new delivery, or a refresh by a live holder, worker/held.py)."""

    def __init__(self, stack: FaultStack, limit: float = 300):
        self.redis = stack.redis
        scores = dict(self.redis.zrange("unacked_index", 0, -1, withscores=True))
        self.held: dict[bytes, tuple[str, float]] = {}  # tag -> (task id, delivery time at the start)
        for tag, raw in self.redis.hgetall("unacked").items():
            try:
                task = json.loads(raw)[0]["headers"]["id"]
            except (ValueError, KeyError, IndexError, TypeError):
                task = "?"
            self.held[tag] = (task, scores.get(tag, 0.0))
        self.left: dict[str, float] = {}  # task id -> when it left its holder at the start
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def tasks(self) -> set[str]:
        return {task for task, _ in self.held.values()}

    def _loop(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline and len(self.left) < len(self.held):
            try:
                scores = dict(self.redis.zrange("unacked_index", 0, -1, withscores=True))
            except Exception:  # Redis away during a fault: sample again
                self._stop.wait(0.02)
                continue
            now = time.time()
            for tag, (task, score) in self.held.items():
                if scores.get(tag, float("inf")) > score:
                    self.left.setdefault(task, now)
            self._stop.wait(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def wait_unacked_empty(stack: FaultStack, timeout: float) -> float | None:
    """Seconds until kombu's `unacked` hash is empty (None if it never was within `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not stack.redis.hlen("unacked"):
            return time.monotonic() - started
        time.sleep(0.1)
    return None
