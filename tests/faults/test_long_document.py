"""Faults in the middle of a long document, in the configuration users run (DEFAULT_ENV: a
worker with one child per core, the default lease, heartbeat and visibility timeout).

A 20-page scan (tests/faults/longdoc.py: each page labelled with its number) fans out into page
tasks; once a few pages are read, one fault per run: a Sentinel failover to the replica, Redis
SIGKILLed and restarted on its AOF, the gateway SIGKILLed and started again. (A worker
SIGKILLed mid-document, with jobs queued behind it, is in test_lost_worker_defaults.py: it
needs a second worker to survive.) Each time the job ends `succeeded` with every page exactly
once in its result, in order, and kombu's `unacked` hash is empty afterwards: no message is
left for a visibility timeout to bring back.
"""
from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest
import requests

from jobs.settings import Settings

from .conftest import GATEWAY_ENV, FaultStack, poll_all, report, unacked_ids, wait_ready, wait_unacked_empty
from .longdoc import PAGES, labelled_pdf, page_labels, reads_per_page

DEFAULTS = Settings.model_construct()
BOUND = DEFAULTS.lease_ttl + 2 * DEFAULTS.heartbeat_interval  # a lost message is back within this
OUTAGE = 5.0  # seconds Redis stays down before its restart
PAGES_BEFORE_FAULT = 4


@pytest.fixture(scope="module")
def aof_stack(fault_stacks) -> FaultStack:
    return fault_stacks("long-document-aof", aof=True, defaults=True)


@pytest.fixture(scope="module")
def sentinel_stack(fault_stacks) -> FaultStack:
    return fault_stacks("long-document-sentinel", sentinel=True, defaults=True)


def document_through(stack: FaultStack, fault: Callable[[], None], scenario: str) -> dict:
    """Submit the document, inject `fault` once PAGES_BEFORE_FAULT pages are read, follow the job
    to its end; report and check it."""
    response = requests.post(stack.url("/jobs"), files=[("file", ("long.pdf", labelled_pdf(PAGES)))], timeout=60)
    assert response.status_code == 202, response.text
    doc = response.json()["id"]
    deadline = time.monotonic() + 180
    while int(stack.redis.hget(f"ocr:job:{doc}", "parts_done") or 0) < PAGES_BEFORE_FAULT:
        assert time.monotonic() < deadline, "the document never got going"
        time.sleep(0.05)
    done_at_fault = int(stack.redis.hget(f"ocr:job:{doc}", "parts_done") or 0)
    fault_at = time.time()
    fault()
    wait_ready(stack.base_url, timeout=120)
    body = poll_all(stack.base_url, [doc], timeout=300)[doc]
    ended_at = time.time()
    empty_after = wait_unacked_empty(stack, BOUND + 30)
    logs = stack.log("worker")
    labels = page_labels(body) if body["status"] == "succeeded" else []
    figures = dict(status=body["status"], error=body.get("error"), pages_done_at_fault=done_at_fault,
                   finished_after_fault_s=round(ended_at - fault_at, 2), labels=labels,
                   reads_per_page=reads_per_page(logs, doc),
                   unacked_empty_after_s=None if empty_after is None else round(empty_after, 2))
    report(scenario, **figures)
    assert body["status"] == "succeeded", figures
    assert [p["page"] for p in body["result"]["pages"]] == list(range(1, PAGES + 1)), figures
    assert labels == list(range(1, PAGES + 1)), figures
    assert empty_after is not None, f"messages left in unacked: {unacked_ids(stack.redis)}"
    return figures


def test_a_sentinel_failover_in_the_middle_of_a_long_document(sentinel_stack):
    stack = sentinel_stack
    master = stack.redis.connection_pool.get_master_address()  # type: ignore[attr-defined]
    name = "redis-a" if master[1] == int(stack.processes.procs["redis-a"].args[2]) else "redis-b"
    document_through(stack, lambda: stack.kill(name, signal.SIGKILL), "long_document_sentinel_failover")
    assert stack.redis.connection_pool.get_master_address() != master  # type: ignore[attr-defined]


def test_a_redis_restart_on_its_aof_in_the_middle_of_a_long_document(aof_stack):
    stack = aof_stack
    port = int(stack.redis_url.rsplit(":", 1)[1].split("/")[0])

    def restart() -> None:
        stack.kill("redis", signal.SIGKILL)
        time.sleep(OUTAGE)
        stack.processes.start_redis(port, name="redis", aof=True, timeout=60)

    document_through(stack, restart, "long_document_redis_restart")


def test_a_gateway_sigkill_in_the_middle_of_a_long_document(aof_stack):
    stack = aof_stack
    port = int(stack.base_url.rsplit(":", 1)[1])

    def kill_gateway() -> None:
        stack.kill("web", signal.SIGKILL)
        stack.processes.start_gateway(port=port, env={**stack.env, **GATEWAY_ENV})

    document_through(stack, kill_gateway, "long_document_gateway_sigkill")
