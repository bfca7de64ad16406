"""Split jobs' page tasks (jobs/parts.py) against a real Redis, with no Celery: the window, each
page recorded once by its owner, the assembly's ownership, leases and attempts per page, and
the parts gone with the job."""
from __future__ import annotations

import json

import pytest

from jobs.model import FileMeta, JobOptions, PartOutcome, Status
from jobs.parts import PartStore, page_parts, part_label
from jobs.store import JobStore
from ocrcore.formats import PageResult
from ocrcore.types import TextLine, Word

TTL = 60
A, B = "host:1", "host:2"
PDF = FileMeta("scan.pdf", "pdf", (0, 1, 2, 3))


def split_job(store: JobStore, children: int = 2, files: list[FileMeta] | None = None) -> tuple[str, list[int]]:
    """A running job of 4 pages split by A, with `children` live worker children."""
    files = files or [PDF]
    job = store.create([b"x"] * len(files), JobOptions(), files, ttl=TTL)
    assert not isinstance(job, str)
    for n in range(children):
        store.heartbeat(f"child:{n}", 30)
    assert store.start(job.id, A, hard_time_limit=30, max_attempts=2) == ("running", 1)
    send = PartStore(store).fan_out(job.id, A, job.progress_total, heartbeat_ttl=30, resend_after=60)
    return job.id, send


def outcome(page: int = 1, worker: str = A) -> PartOutcome:
    words = (Word("Total", [[0, 0], [5, 0], [5, 4], [0, 4]]), Word("7.60", [[6, 0], [9, 0], [9, 4], [6, 4]]))
    line = TextLine("Total 7.60", 0.9876543210123, [[0, 0], [9, 0], [9, 4], [0, 4]], words,
                    ink_box=[[1, 1], [8, 1], [8, 3], [1, 3]])
    return PartOutcome(PageResult(page, 100, 50, "ocr", [line]), None, 0.5, {"det": 0.1}, worker)


def test_an_outcome_crosses_redis_unchanged():
    before = outcome()
    assert PartOutcome.from_json(before.to_json()) == before
    failed = PartOutcome(None, {"code": "time_limit", "message": "Page 2 took too long."}, 1.0, {}, B)
    assert PartOutcome.from_json(failed.to_json()) == failed


def test_parts_are_the_pages_in_order_and_labelled_as_people_count():
    files = [FileMeta("a.png", "png"), FileMeta("b.pdf", "pdf", (4, 0))]
    assert page_parts(files) == [(0, 0), (1, 0), (1, 1)]
    assert [part_label(files, n) for n in range(4)] == ["a.png", "page 5 of b.pdf", "page 1 of b.pdf", "the result"]
    assert part_label([PDF], 2) == "page 3"


def test_a_split_job_queues_one_page_per_live_child_and_leaves_its_job_lease(store, redis):
    job_id, send = split_job(store, children=3)
    assert send == [0, 1, 2]
    assert redis.zscore(store.leases_key, job_id) is None, "no job-level lease: its parts have theirs"
    assert not redis.hexists(store.job_key(job_id), "deadline")
    assert {m.decode() for m in redis.zrange(store.part_leases_key, 0, -1)} == {f"{job_id}:{n}" for n in send}
    # The job's own message coming back, or a renewal racing the split, changes nothing.
    assert store.start(job_id, B, hard_time_limit=30, max_attempts=2) == ("fanned", 0)
    store.renew_lease(job_id, A, 10)
    assert redis.zscore(store.leases_key, job_id) is None
    assert PartStore(store).fan_out(job_id, A, 4, 30, 60) == []


def test_each_page_is_recorded_once_by_its_owner_and_the_last_one_assembles(store, redis):
    parts = PartStore(store)
    job_id, send = split_job(store)
    assert send == [0, 1]
    assert parts.start(job_id, 0, A, 10, 2, "page 1") == ("running", 1)
    assert parts.start(job_id, 0, B, 10, 2, "page 1") == ("held", 0), "a duplicate message is skipped"
    assert parts.start(job_id, 1, B, 10, 2, "page 2") == ("running", 1)
    assert parts.finish(job_id, 0, B, outcome(1, B), 30, 60, 10) == ("", []), "only the owner records a page"
    assert parts.finish(job_id, 0, A, outcome(1), 30, 60, 10) == ("running", [2])
    assert parts.start(job_id, 0, B, 10, 2, "page 1") == ("done", 0)
    assert store.get(job_id).progress_done == 1
    assert parts.finish(job_id, 1, B, outcome(2, B), 30, 60, 10) == ("running", [3])
    for n in (2, 3):
        assert parts.start(job_id, n, A, 10, 2, f"page {n + 1}")[0] == "running"
    assert parts.finish(job_id, 2, A, outcome(3), 30, 60, 10) == ("running", [])
    assert parts.finish(job_id, 3, A, outcome(4), 30, 60, 10) == ("assemble", [])
    assert [o.page.page for o in parts.outcomes(job_id, 4)] == [1, 2, 3, 4]
    assert store.get(job_id).progress_done == 4
    # The assembly (part 4) is A's: only A may succeed the job.
    assert not store.succeed(job_id, {"pages": []}, worker=B, part=4)
    assert store.succeed(job_id, {"pages": []}, worker=A, part=4)
    assert store.get(job_id).status is Status.SUCCEEDED
    assert not redis.exists(store.parts_key(job_id)) and not redis.zcard(store.part_leases_key)


def test_a_canceled_job_drops_its_running_pages_and_skips_its_queued_ones(store, redis):
    parts = PartStore(store)
    job_id, _ = split_job(store)
    assert parts.start(job_id, 0, A, 10, 2, "page 1")[0] == "running"
    assert store.cancel(job_id) == (Status.RUNNING, True)
    assert parts.finish(job_id, 0, A, outcome(), 30, 60, 10) == ("canceled", [])
    assert parts.start(job_id, 1, B, 10, 2, "page 2") == ("canceled", 0)
    assert parts.renew(job_id, 0, A, 10) is Status.CANCELED
    assert not redis.exists(store.parts_key(job_id)) and not redis.zcard(store.part_leases_key)


def test_a_page_whose_child_died_runs_again_and_only_it(store, redis):
    parts = PartStore(store)
    job_id, _ = split_job(store)
    assert parts.start(job_id, 0, A, 10, 2, "page 1")[0] == "running"
    assert parts.finish(job_id, 0, A, outcome(1), 30, 60, 10)[0] == "running"
    assert parts.start(job_id, 1, A, 10, 2, "page 2")[0] == "running"
    parts.note_lost_run(job_id, 1, "signal 9 (SIGKILL)")
    parts.lapse(job_id, 1)  # A's heartbeat stopped
    assert (job_id, 1) in parts.lapsed()
    assert parts.requeue_lapsed(job_id, 1, 2, 60, "page 2") == ("requeued", 1)
    assert parts.requeue_lapsed(job_id, 1, 2, 60, "page 2") == ("", 0), "one reaper re-queues it"
    assert parts.start(job_id, 1, B, 10, 2, "page 2") == ("running", 2)
    assert parts.finish(job_id, 1, A, outcome(2), 30, 60, 10) == ("", []), "the dead run's result is not taken"
    assert parts.start(job_id, 0, B, 10, 2, "page 1") == ("done", 0), "a finished page is never redone"
    assert redis.hget(store.parts_key(job_id), "a0") == b"1"


@pytest.mark.parametrize("reason, code", [("signal 9 (SIGKILL)", "worker_lost"),
                                          ("signal 11 (SIGSEGV)", "worker_crashed")])
def test_a_page_whose_children_keep_dying_fails_the_job_naming_the_page(store, redis, reason, code):
    parts = PartStore(store)
    job_id, _ = split_job(store)
    for attempt, child in ((1, A), (2, B)):
        assert parts.start(job_id, 1, child, 10, 2, "page 2") == ("running", attempt)
        parts.note_lost_run(job_id, 1, reason)
        parts.lapse(job_id, 1)
        expected = "requeued" if attempt == 1 else "exhausted"
        assert parts.requeue_lapsed(job_id, 1, 2, 60, "page 2") == (expected, attempt)
    job = store.get(job_id)
    assert job.status is Status.FAILED and job.error["code"] == code and "page 2" in job.error["message"]
    assert not redis.exists(store.parts_key(job_id)) and not redis.exists(store.upload_key(job_id))


def test_a_queued_page_nobody_took_is_sent_again(store):
    parts = PartStore(store)
    job_id, _ = split_job(store)
    parts.lapse(job_id, 0)
    assert parts.requeue_lapsed(job_id, 0, 2, 60, "page 1") == ("resend", 0)
    assert parts.start(job_id, 0, B, 10, 2, "page 1") == ("running", 1)


def test_a_page_failure_fails_the_job_only_from_its_owner(store):
    parts = PartStore(store)
    job_id, _ = split_job(store)
    parts.start(job_id, 1, A, 10, 2, "page 2")
    assert not store.fail(job_id, "time_limit", "Page 2 took too long.", part_owner=(1, B))
    assert store.fail(job_id, "time_limit", "Page 2 took too long.", part_owner=(1, A))
    assert json.loads(json.dumps(store.get(job_id).error))["message"] == "Page 2 took too long."


def test_the_broker_hands_out_a_job_before_the_page_tasks_queued_ahead_of_it(redis_url, redis):
    """Priorities as the worker reads them (kombu's Redis transport, jobs/producer.py): a job's
    message, queued after many page tasks, is taken first; the pages then go in their order."""
    from jobs.producer import PART_TASK_NAME, TASK_NAME, Producer
    from jobs.settings import Settings

    producer = Producer(Settings(redis_url=redis_url, queue_name="unit-priorities"))
    for part in range(5):
        producer.enqueue_part("j" * 22, part)
    producer.enqueue("k" * 22, pages=1)
    with producer.celery.connection_for_read() as connection:
        channel = connection.default_channel
        taken = [channel._get("unit-priorities") for _ in range(6)]
    assert [m["headers"]["task"] for m in taken] == [TASK_NAME] + [PART_TASK_NAME] * 5
    assert [m["headers"]["id"] for m in taken[1:]] == [f"{'j' * 22}:{n}" for n in range(5)]
