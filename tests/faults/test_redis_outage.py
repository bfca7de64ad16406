"""Redis goes away under load: SIGKILL and a restart on its AOF (appendfsync everysec, as in the
compose file), and a Sentinel failover to the replica when the master dies.

Load at the kill: async jobs queued and running, sync POST /ocr requests waiting. While Redis is
away the gateway answers fast JSON 503s with Retry-After (never a hang, never a 500) and
/readyz is unready; afterwards the workers consume again without a restart, and every job
accepted more than a second before the kill (the AOF's fsync window) ends `succeeded`.
"""
from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.service.helpers import b64

from .conftest import FaultStack, poll_all, report, tally, wait_ready

OUTAGE = 5.0  # seconds Redis stays down before the restart
FAST = 2.0  # seconds: the slowest answer allowed while Redis is away (a loaded box; typically ~10 ms)
AOF_WINDOW = 1.5  # jobs accepted this close to the kill may be lost with the AOF's last second


class Load:
    """Async submissions and sync calls against the gateway, with their outcomes."""

    def __init__(self, stack: FaultStack, receipt: bytes, small: bytes):
        self.stack = stack
        self.bodies = [{"image": b64(receipt)}, {"image": b64(small)}]
        self.accepted: list[tuple[str, float]] = []  # (job id, time the 202 arrived)
        self.sync_results: list[tuple[int | str, float]] = []
        self.pool = ThreadPoolExecutor(4)
        self.sync_futures: list = []

    def submit(self, count: int) -> None:
        for index in range(count):
            response = requests.post(self.stack.url("/jobs"), json=self.bodies[index % 2], timeout=30)
            assert response.status_code == 202, response.text
            self.accepted.append((response.json()["id"], time.time()))

    def _sync(self, body: dict) -> tuple[int | str, float]:
        started = time.monotonic()
        try:
            response = requests.post(self.stack.url("/ocr"), json=body, timeout=200)
            return response.status_code, time.monotonic() - started
        except requests.RequestException as exc:
            return type(exc).__name__, time.monotonic() - started

    def start_sync(self, count: int) -> None:
        self.sync_futures += [self.pool.submit(self._sync, self.bodies[1]) for _ in range(count)]

    def sync_outcomes(self) -> list:
        return [future.result() for future in self.sync_futures]


def probe_while_down(stack: FaultStack, job_id: str, image: bytes) -> tuple[list[tuple[str, int | str, float]], float]:
    """Hit the gateway until Redis is back (a POST /jobs is accepted again): (what, status or
    exception, seconds) for each call, and the time the service accepted a job again."""
    answers = []
    body = {"image": b64(image)}
    calls = {
        "POST /jobs": lambda: requests.post(stack.url("/jobs"), json=body, timeout=10),
        "POST /ocr": lambda: requests.post(stack.url("/ocr"), json=body, timeout=10),
        "GET /jobs/<id>": lambda: requests.get(stack.url(f"/jobs/{job_id}"), timeout=10),
        "GET /readyz": lambda: requests.get(stack.url("/readyz"), timeout=10),
        "GET /healthz": lambda: requests.get(stack.url("/healthz"), timeout=10),
        "GET /metrics": lambda: requests.get(stack.url("/metrics"), timeout=10),
    }
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for what, call in calls.items():
            started = time.monotonic()
            try:
                response = call()
                outcome: int | str = response.status_code
                if response.status_code == 503:
                    assert response.headers.get("Retry-After"), f"{what}: 503 without Retry-After"
                    code = response.json()["error"]["code"]
                    assert code in {"service_unavailable", "not_ready", "no_worker"}, response.text
            except requests.ReadTimeout as exc:
                # Only a sync call that went through once Redis was back may wait (for its job).
                assert what == "POST /ocr" and stack.redis.ping(), f"{what} hung while Redis was away"
                outcome = type(exc).__name__
            except requests.RequestException as exc:
                outcome = type(exc).__name__
            answers.append((what, outcome, time.monotonic() - started))
            if what == "POST /jobs" and outcome == 202:
                return answers, time.time()
        time.sleep(0.1)
    raise AssertionError("the gateway never accepted a job again")


def run_outage(stack: FaultStack, receipt: bytes, small: bytes, kill, restore, scenario: str) -> dict:
    load = Load(stack, receipt, small)
    load.submit(8)
    load.start_sync(3)
    # Until a job runs and the last acceptance is outside the AOF's fsync window.
    deadline = time.monotonic() + 120
    while not any(stack.redis.hget(f"ocr:job:{job_id}", "status") == b"running" for job_id, _ in load.accepted):
        assert time.monotonic() < deadline, "no job started"
        time.sleep(0.05)
    time.sleep(AOF_WINDOW)

    killed_at = time.time()
    kill()
    with ThreadPoolExecutor(1) as pool:
        restoring = pool.submit(restore)
        answers, back_at = probe_while_down(stack, load.accepted[0][0], small)
        restoring.result()
    wait_ready(stack.base_url, timeout=60)
    ready_s = time.time() - killed_at

    ids = [job_id for job_id, at in load.accepted if at < killed_at - AOF_WINDOW]
    final = poll_all(stack.base_url, ids, timeout=300)
    counts = tally(final)
    sync = load.sync_outcomes()
    started_after = [job.started_at for job_id in ids if (job := stack.store.get(job_id)) and job.started_at
                     and job.started_at > killed_at]
    statuses: dict[str, dict[str, int]] = {}
    for what, outcome, _ in answers:
        statuses.setdefault(what, {}).setdefault(str(outcome), 0)
        statuses[what][str(outcome)] += 1
    down = [(what, outcome, seconds) for what, outcome, seconds in answers if outcome not in (202, "ReadTimeout")]
    figures = dict(counts, sync=[status for status, _ in sync],
                   accepting_again_s=round(back_at - killed_at, 2), ready_s=round(ready_s, 2),
                   consuming_again_s=round(min(started_after) - killed_at, 2) if started_after else None,
                   slowest_answer_while_down_s=round(max(s for *_, s in down), 3), answers_while_down=statuses,
                   failed_codes=sorted({b.get("error", {}).get("code") for b in final.values()
                                        if b["status"] == "failed"}))
    report(scenario, **figures)

    assert counts["succeeded"] == len(ids), figures
    assert all(status == 200 for status, _ in sync), figures
    for what, outcome, seconds in down:
        assert outcome in (200, 503), (what, outcome, seconds)
        assert outcome == 200 and what != "GET /readyz" or seconds < FAST, (what, outcome, seconds)
    assert any(what == "GET /readyz" and outcome == 503 for what, outcome, _ in answers), "never unready"
    assert started_after, "the workers never took a job again"
    return figures


def test_redis_killed_and_restarted_on_its_aof(fault_stacks, receipt_jpeg, text_png):
    stack = fault_stacks("redis-restart", aof=True)
    port = int(stack.redis_url.rsplit(":", 1)[1].split("/")[0])

    def kill() -> None:
        stack.kill("redis", signal.SIGKILL)

    def restore() -> None:
        time.sleep(OUTAGE)
        stack.processes.start_redis(port, name="redis", aof=True, timeout=60)

    run_outage(stack, receipt_jpeg, text_png, kill, restore, "redis_restart")


def test_sentinel_failover_to_the_replica(fault_stacks, receipt_jpeg, text_png):
    stack = fault_stacks("sentinel", sentinel=True)
    master = stack.redis.connection_pool.get_master_address()  # type: ignore[attr-defined]
    name = "redis-a" if master[1] == int(stack.processes.procs["redis-a"].args[2]) else "redis-b"

    def kill() -> None:
        stack.kill(name, signal.SIGKILL)

    def restore() -> None:
        pass  # the sentinels promote the replica; nobody restarts the old master

    figures = run_outage(stack, receipt_jpeg, text_png, kill, restore, "sentinel_failover")
    promoted = stack.redis.connection_pool.get_master_address()  # type: ignore[attr-defined]
    assert promoted != master, (master, promoted)
    assert figures["accepting_again_s"] < 30, figures
