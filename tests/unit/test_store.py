"""The job store's state machine against a real Redis, with no Celery: every transition,
compare-and-set against late results, attempts, deadlines and TTLs."""
from __future__ import annotations

import time

import pytest

from jobs.errors import ErrorCode
from jobs.model import FileMeta, JobOptions, Status
from jobs.store import JobStore

TTL = 60


def queued(store: JobStore, files: int = 1, **options) -> str:
    job = store.create([b"x" * 10] * files, JobOptions(**options), [FileMeta(f"f{i}.png", "png") for i in range(files)],
                       ttl=TTL)
    assert job.status == Status.QUEUED
    return job.id


def running(store: JobStore, job_id: str, hard_limit: float = 30, max_attempts: int = 2) -> int:
    state, attempt = store.start(job_id, "host:1", hard_time_limit=hard_limit, max_attempts=max_attempts)
    assert state == "running"
    return attempt


def test_a_created_job_reads_back_typed(store):
    meta = [FileMeta("a.pdf", "pdf", (0, 2)), FileMeta(None, "jpeg")]
    job = store.create([b"pdf", b"jpg"], JobOptions(model="ppocrv5-mobile", output_format="hocr", force_ocr=True),
                       meta, ttl=TTL)
    back = store.get(job.id)
    assert back is not None
    assert back.status is Status.QUEUED and back.files == meta
    assert back.options == JobOptions(model="ppocrv5-mobile", output_format="hocr", force_ocr=True)
    assert back.progress_total == 3 and back.progress_done == 0 and back.attempts == 0
    assert store.load_upload(job.id, 0) == b"pdf" and store.load_upload(job.id, 1) == b"jpg"
    assert back.public()["status"] == "queued" and back.public()["progress"] == {"done": 0, "total": 3}


def test_record_and_upload_expire_with_the_ttl(store, redis):
    job_id = queued(store)
    for key in (store.job_key(job_id), store.upload_key(job_id)):
        assert 0 < redis.ttl(key) <= TTL


def test_queued_running_succeeded(store, redis):
    job_id = queued(store)
    assert running(store, job_id) == 1
    assert store.progress(job_id, 1) is Status.RUNNING
    assert store.succeed(job_id, {"processing_time": 0.1, "results": []})
    job = store.get(job_id)
    assert job.status is Status.SUCCEEDED and job.result == {"processing_time": 0.1, "results": []}
    assert job.finished and job.progress_done == job.progress_total
    assert not redis.exists(store.upload_key(job_id)), "the upload is dropped once the job is finished"
    assert store.wait_finished(job_id, timeout=1), "a waiting request is woken"


def test_a_canceled_job_keeps_its_status_against_a_late_result(store):
    job_id = queued(store)
    running(store, job_id)
    before, canceled = store.cancel(job_id)
    assert (before, canceled) == (Status.RUNNING, True)
    assert store.progress(job_id, 1) is Status.CANCELED, "the worker learns of it between pages"
    assert not store.succeed(job_id, {"results": []}), "a late result must not overwrite the cancel"
    assert not store.fail(job_id, ErrorCode.INTERNAL_ERROR, "late failure")
    assert store.get(job_id).status is Status.CANCELED
    assert store.cancel(job_id) == (Status.CANCELED, False)


def test_a_finished_job_cannot_be_canceled_or_failed(store):
    job_id = queued(store)
    running(store, job_id)
    assert store.succeed(job_id, {"results": []})
    assert store.cancel(job_id) == (Status.SUCCEEDED, False)
    assert not store.fail(job_id, ErrorCode.TIME_LIMIT, "too late")
    assert store.get(job_id).status is Status.SUCCEEDED


def test_a_queued_job_can_fail_and_carries_its_error(store):
    job_id = queued(store)
    assert store.fail(job_id, ErrorCode.ENQUEUE_FAILED, "The job could not be queued.")
    job = store.get(job_id)
    assert job.status is Status.FAILED
    assert job.error == {"code": "enqueue_failed", "message": "The job could not be queued."}
    assert job.public()["error"] == job.error and job.public()["result"] is None
    state, _ = store.start(job_id, "host:1", hard_time_limit=30, max_attempts=2)
    assert state == "failed", "a finished job is never started"


def test_unknown_and_expired_jobs(store, redis):
    assert store.get("A" * 22) is None
    assert store.cancel("A" * 22) == (None, False)
    assert store.progress("A" * 22, 1) is None
    assert store.start("A" * 22, "host:1", 30, 2) == ("", 0)
    job_id = queued(store)
    redis.delete(store.job_key(job_id))
    assert not store.succeed(job_id, {}), "an expired job is not recreated by a late result"
    assert not redis.exists(store.job_key(job_id))


def lapse(store: JobStore, job_id: str) -> None:
    """The child running the job stopped renewing its lease (its worker died)."""
    store.lapse(job_id)


def test_a_redelivered_job_counts_attempts_until_exhausted(store):
    job_id = queued(store)
    assert store.start(job_id, "host:1", 30, 2) == ("running", 1)
    # The worker died; its message comes back to another child once the lease lapsed.
    lapse(store, job_id)
    assert store.start(job_id, "host:2", 30, 2) == ("running", 2)
    lapse(store, job_id)
    state, attempts = store.start(job_id, "host:3", hard_time_limit=30, max_attempts=2)
    assert (state, attempts) == ("exhausted", 3)
    job = store.get(job_id)
    assert job.status is Status.FAILED and job.error["code"] == "worker_lost"


def test_a_message_for_a_job_running_under_a_live_lease_is_skipped(store):
    """A duplicate message (the dead worker's own, back after the visibility timeout, or a
    re-queue's) never starts a second run of a job another child is running."""
    job_id = queued(store)
    assert store.start(job_id, "host:1", 30, 2, lease_ttl=30) == ("running", 1)
    assert store.start(job_id, "host:2", 30, 2, lease_ttl=30) == ("held", 0)
    assert store.start(job_id, "host:1", 30, 2) == ("running", 1), "a retried start of the same run"
    assert store.get(job_id).attempts == 1 and store.get(job_id).worker == "host:1"
    assert store.succeed(job_id, {"results": []}, worker="host:1")
    assert store.start(job_id, "host:2", 30, 2) == ("succeeded", 0), "a finished job never runs again"


def test_a_lapsed_lease_is_requeued_once_then_failed_when_attempts_are_used_up(store, redis):
    job_id = queued(store)
    store.start(job_id, "host:1", 30, max_attempts=2, lease_ttl=0.05)
    time.sleep(0.1)
    assert store.lapsed_leases() == [job_id]
    assert store.requeue_lapsed(job_id, max_attempts=2, resend_after=60) == ("requeued", 1, 1)
    assert store.requeue_lapsed(job_id, max_attempts=2, resend_after=60) == ("", 0, 0), "exactly one reaper"
    job = store.get(job_id)
    assert job.status is Status.QUEUED and job.worker is None and store.lapsed_leases() == []
    assert store.progress(job_id, 1, worker="host:1") is Status.QUEUED, "the old run learns it was taken over"
    assert not store.succeed(job_id, {"results": []}, worker="host:1"), "the old run's late result is dropped"
    # Attempt 2 starts on a surviving worker and dies too: the attempts are used up.
    assert store.start(job_id, "host:2", 30, max_attempts=2, lease_ttl=0.05) == ("running", 2)
    assert store.progress(job_id, 1, worker="host:1") is None, "a run taken over is told to stop"
    time.sleep(0.1)
    assert store.requeue_lapsed(job_id, max_attempts=2, resend_after=60) == ("exhausted", 2, 1)
    job = store.get(job_id)
    assert job.status is Status.FAILED and job.error["code"] == "worker_lost" and "2 times" in job.error["message"]
    assert not redis.exists(store.upload_key(job_id)) and store.wait_finished(job_id, timeout=1)
    assert redis.zcard(store.leases_key) == 0


def test_a_renewed_lease_does_not_lapse_and_final_statuses_drop_it(store, redis):
    job_id = queued(store)
    store.start(job_id, "host:1", 30, 2, lease_ttl=0.3)
    for _ in range(4):
        time.sleep(0.1)
        assert store.renew_lease(job_id, "host:1", 0.3) is Status.RUNNING
    assert store.lapsed_leases() == []
    assert store.renew_lease(job_id, "host:2", 0.3) is Status.RUNNING  # not its run: no renewal
    assert store.succeed(job_id, {"results": []}, worker="host:1")
    assert redis.zcard(store.leases_key) == 0


def test_a_requeued_job_never_taken_gets_its_message_again(store):
    job_id = queued(store)
    store.start(job_id, "host:1", 30, 2, lease_ttl=0.01)
    time.sleep(0.05)
    assert store.requeue_lapsed(job_id, max_attempts=2, resend_after=0.01)[0] == "requeued"
    time.sleep(0.05)
    assert store.requeue_lapsed(job_id, max_attempts=2, resend_after=60)[0] == "resend"
    assert store.cancel(job_id) == (Status.QUEUED, True)
    assert store.lapsed_leases() == [] and store.requeue_lapsed(job_id, 2, 60)[0] == ""


def test_a_running_job_past_its_deadline_is_failed_when_read(store, redis):
    job_id = queued(store)
    running(store, job_id, hard_limit=0.01)
    redis.hset(store.job_key(job_id), "deadline", repr(time.time() - 1))
    job = store.get(job_id)
    assert job.status is Status.FAILED and job.error["code"] == "worker_lost"
    assert not store.succeed(job_id, {"results": []}), "the lost worker's late result is dropped"


def test_the_deadline_guard_spares_a_job_restarted_meanwhile(store, redis):
    """fail(..., guard) is a compare-and-set on the deadline too: a reader that saw an old
    deadline must not fail a run that started again since."""
    job_id = queued(store)
    running(store, job_id)
    assert not store.fail(job_id, ErrorCode.WORKER_LOST, "stale", from_statuses=(Status.RUNNING,),
                          guard=("deadline", "0.0"))
    assert store.get(job_id).status is Status.RUNNING


def test_worker_heartbeats_expire(store):
    assert store.workers_alive(ttl=5) == 0
    assert store.heartbeat("host:1", ttl=5) == 1
    assert store.heartbeat("host:2", ttl=5) == 2
    store.forget_worker("host:2")
    assert store.workers_alive(ttl=5) == 1
    time.sleep(0.15)
    assert store.workers_alive(ttl=0.1) == 0


@pytest.mark.parametrize("final", [Status.SUCCEEDED, Status.FAILED, Status.CANCELED])
def test_every_final_status_counts_once_in_the_metrics(store, redis, final):
    from jobs.metrics import JobMetrics

    job_id = queued(store)
    running(store, job_id)
    finish = {
        Status.SUCCEEDED: lambda: store.succeed(job_id, {}),
        Status.FAILED: lambda: store.fail(job_id, ErrorCode.UNDECODABLE_IMAGE, "bad"),
        Status.CANCELED: lambda: store.cancel(job_id)[1],
    }[final]
    assert finish()
    assert not finish(), "the second attempt at a final status is refused"
    snap = JobMetrics(redis, store.prefix).snapshot()
    assert snap.finished[str(final)] == 1
    assert sum(snap.finished.values()) == 1


# ---------- binary results (output_format=pdf) ----------

def test_documents_are_stored_with_the_succeeded_status_and_expire_with_the_record(store, redis):
    job_id = queued(store, output_format="pdf")
    running(store, job_id)
    assert not redis.exists(store.output_key(job_id))
    assert store.succeed(job_id, {"document": 1}, [b"%PDF-one", b"%PDF-two"])
    assert store.load_output(job_id, 1) == b"%PDF-one" and store.load_output(job_id, 2) == b"%PDF-two"
    assert store.load_output(job_id, 3) is None and store.load_output(job_id, 0) is None
    assert 0 < redis.ttl(store.output_key(job_id)) <= TTL
    assert abs(redis.pttl(store.output_key(job_id)) - redis.pttl(store.job_key(job_id))) < 50, "one TTL for both"


def test_a_canceled_or_expired_job_never_gets_documents(store, redis):
    job_id = queued(store, output_format="pdf")
    running(store, job_id)
    assert store.cancel(job_id)[1]
    assert not store.succeed(job_id, {"document": 1}, [b"%PDF-late"])
    assert not redis.exists(store.output_key(job_id)), "a late result of a canceled job leaves nothing behind"
    gone = queued(store, output_format="pdf")
    running(store, gone)
    redis.delete(store.job_key(gone))
    assert not store.succeed(gone, {"document": 1}, [b"%PDF-late"])
    assert not redis.exists(store.output_key(gone))


def test_documents_vanish_with_the_record_when_the_ttl_runs_out(store, redis):
    job = store.create([b"x"], JobOptions(output_format="pdf"), [FileMeta("a.png", "png")], ttl=1)
    running(store, job.id)
    assert store.succeed(job.id, {"document": 1}, [b"%PDF-1"])
    time.sleep(1.2)
    left = [key for key in redis.keys(f"{store.prefix}:*{job.id}*") if key != store.done_key(job.id).encode()]
    assert left == [], "no orphan key outlives the job (the done list is a notification with its own TTL)"


def test_only_a_final_status_carries_documents(store):
    job_id = queued(store)
    with pytest.raises(ValueError):
        store._apply(job_id, (Status.QUEUED,), Status.RUNNING, fields={}, documents=[b"x"])


def test_a_job_whose_gateway_died_before_enqueueing_it_is_sent_by_a_reaper(store, redis):
    """create() gives the job an enqueue lease; enqueued() drops it once the message is out. A
    gateway killed in between leaves the lease to lapse, and a worker's reaper sends the message."""
    sent = queued(store)
    store.enqueued(sent)
    assert redis.zscore(store.leases_key, sent) is None
    orphan = queued(store)
    assert redis.zscore(store.leases_key, orphan) is not None and store.lapsed_leases() == []
    lapse(store, orphan)
    assert store.lapsed_leases() == [orphan]
    assert store.requeue_lapsed(orphan, max_attempts=2, resend_after=60) == ("resend", 0, 1)
    assert store.get(orphan).status is Status.QUEUED and store.lapsed_leases() == []
    # A worker that starts it before the gateway's enqueued() keeps its running lease.
    racing = queued(store)
    store.start(racing, "host:1", 30, 2, lease_ttl=30)
    store.enqueued(racing)
    assert redis.zscore(store.leases_key, racing) is not None
