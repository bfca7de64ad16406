"""The job record, kept in Redis by the gateway and the worker alike.

One hash per job holds its state; the uploaded files wait under their own key (a list,
one entry per file) until a worker takes them; a per-job list receives the job id once the
job is finished, so a waiting request can BLPOP it instead of polling. Every status change
is a compare-and-set in a Lua script (jobs/scripts.py): a canceled or finished job is never
overwritten.

Binary results (output_format=pdf) are not JSON: their bytes go under an output key of
their own (a list, one entry per document), written by the same compare-and-set that
sets "succeeded" and given the record's TTL, so a job has its documents exactly when it
succeeded, and they expire with it.

Leases (jobs/leases.py has their rules and scripts): a running job holds one, renewed by its
child's heartbeat; a lapsed one is re-queued by any worker's reaper (worker/child.py) or
failed once its attempts are used up, and `start` never runs a job held under a live lease,
nor a finished one.

Parts: a job split into page tasks (jobs/parts.py, worker/fanout.py) keeps its pages' state
in a hash of its own (`<prefix>:parts:<id>`) and one lease per page task in
`<prefix>:part_leases`; it leaves the job-level lease above once it is split, and every
final status set here deletes its parts with it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from redis import Redis

from . import events
from .errors import ErrorCode
from .leases import DEADLINE_GRACE, ENQUEUE_GRACE, ENQUEUED, LAPSED, RENEW, REQUEUE, START, exhausted_error
from .model import ACTIVE, ErrorBody, FileMeta, Job, JobOptions, Status, error_body, new_job_id
from .scripts import (
    CALLBACK_OUTCOME,
    CLAIM_CALLBACK,
    CREATE,
    DONE_LIST_TTL,
    HEARTBEAT,
    NOTE,
    PROGRESS,
    TRANSITION,
)

log = logging.getLogger(__name__)


class JobStore:
    """Job records, uploads and worker heartbeats in Redis; safe to share between threads."""

    def __init__(self, redis: Redis, prefix: str = "ocr"):
        self.redis = redis
        self.prefix = prefix
        self._transition = redis.register_script(TRANSITION)
        self._start = redis.register_script(START)
        self._renew = redis.register_script(RENEW)
        self._lapsed = redis.register_script(LAPSED)
        self._enqueued = redis.register_script(ENQUEUED)
        self._requeue = redis.register_script(REQUEUE)
        self._heartbeat = redis.register_script(HEARTBEAT)
        self._progress = redis.register_script(PROGRESS)
        self._note = redis.register_script(NOTE)
        self._create = redis.register_script(CREATE)
        self._claim_callback = redis.register_script(CLAIM_CALLBACK)
        self._callback_outcome = redis.register_script(CALLBACK_OUTCOME)

    # keys
    def job_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def upload_key(self, job_id: str) -> str:
        return f"{self.prefix}:upload:{job_id}"

    def done_key(self, job_id: str) -> str:
        return f"{self.prefix}:done:{job_id}"

    def output_key(self, job_id: str) -> str:
        return f"{self.prefix}:output:{job_id}"

    def parts_key(self, job_id: str) -> str:
        """A job split into page tasks: its pages' results, owners and attempts (jobs/parts.py)."""
        return f"{self.prefix}:parts:{job_id}"

    @property
    def part_leases_key(self) -> str:
        """Leases of page tasks, "<job id>:<part>" scored by expiry (Redis' clock), as `leases` for jobs."""
        return f"{self.prefix}:part_leases"

    @property
    def workers_key(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def leases_key(self) -> str:
        return f"{self.prefix}:leases"

    @property
    def callbacks_key(self) -> str:
        """Due callback deliveries: job ids scored by when (Redis' clock) to try next."""
        return f"{self.prefix}:callbacks"

    def idempotency_key(self, key: str) -> str:
        """Where an Idempotency-Key's (request hash, job id) is kept: hashed, so keys of any
        charset make tidy Redis keys and a key's text never appears in Redis."""
        return f"{self.prefix}:idem:{hashlib.sha256(key.encode()).hexdigest()}"

    def _keys(self, job_id: str) -> list[str]:
        return [self.job_key(job_id), self.done_key(job_id), self.upload_key(job_id), self.leases_key]

    def _transition_keys(self, job_id: str) -> list[str]:
        return [*self._keys(job_id), self.output_key(job_id), self.callbacks_key, self.parts_key(job_id),
                self.part_leases_key]

    def lease_keys(self, job_id: str) -> list[str]:
        """What START, REQUEUE and the parts' scripts need to fail a job whose attempts are used up."""
        return [*self._keys(job_id), self.callbacks_key, self.parts_key(job_id), self.part_leases_key]

    # gateway side
    def create(self, files: Sequence[bytes], options: JobOptions, file_meta: Sequence[FileMeta], ttl: int,
               callback_url: str | None = None, idempotency: tuple[str, str] | None = None) -> Job | str:
        """Store the uploaded files and a queued record, atomically; the caller then enqueues the id.

        With `idempotency` = (Idempotency-Key, request hash) the key is recorded in the same step
        (for `ttl` seconds); if it was already there nothing is stored and the answer is its
        value, "<request hash> <job id>", for the caller to compare (`idempotent_job`)."""
        job_id = new_job_id()
        now = time.time()
        total = sum(meta.page_count for meta in file_meta)
        fields: dict[str, str | int] = {
            "status": str(Status.QUEUED),
            "created_at": repr(now),
            "options": json.dumps(options.to_json()),
            "files": json.dumps([meta.to_json() for meta in file_meta]),
            "progress_done": 0,
            "progress_total": total,
            "attempts": 0,
            "ttl": ttl,
        }
        if callback_url:
            fields["callback_url"] = callback_url
        pairs = [item for pair in fields.items() for item in pair]
        idem_key, idem_value = ("", "")
        if idempotency is not None:
            idem_key, idem_value = self.idempotency_key(idempotency[0]), f"{idempotency[1]} {job_id}"
        existing = self._create(
            keys=[self.job_key(job_id), self.upload_key(job_id), self.leases_key, idem_key],
            # a lease until enqueued() (this host's clock)
            args=[ttl, repr(now + ENQUEUE_GRACE), idem_value, len(files), *files, *pairs],
        )
        if existing:
            return existing.decode() if isinstance(existing, bytes) else str(existing)
        return Job(job_id, Status.QUEUED, now, ttl, options, list(file_meta), progress_total=total,
                   callback_url=callback_url)

    # callback deliveries (jobs/callbacks.py)
    def claim_callback(self, claim_seconds: float) -> tuple[str, int] | None:
        """The next due delivery as (job id, attempt), claimed for `claim_seconds`; attempt 0
        means the entry was stale (dropped): call again. None when nothing is due."""
        raw = self._claim_callback(keys=[self.callbacks_key], args=[self.prefix, claim_seconds])
        if not raw:
            return None
        return raw[0].decode(), int(raw[1])

    def callback_outcome(self, job_id: str, outcome: str, error: str, retry_delay: float,
                         give_up_after: float) -> str:
        """Record an attempt: "delivered", "failed" (for good) or "retry" (after `retry_delay`,
        unless that is past `give_up_after` seconds since the job ended: then "failed").
        Returns the outcome recorded ("" if the delivery was no longer pending)."""
        result = self._callback_outcome(keys=[self.job_key(job_id), self.callbacks_key],
                                        args=[job_id, outcome, error[:300], retry_delay, give_up_after])
        return result.decode() if isinstance(result, bytes) else str(result or "")

    def enqueued(self, job_id: str) -> None:
        """The job's queue message is sent: drop its enqueue lease (a running job keeps its own)."""
        self._enqueued(keys=[self.job_key(job_id), self.leases_key], args=[job_id])

    def get(self, job_id: str) -> Job | None:
        """The job, or None if unknown or expired. A running job past its deadline is failed here."""
        raw: dict[bytes, bytes] = self.redis.hgetall(self.job_key(job_id))  # type: ignore[assignment]
        if not raw:
            return None
        job = Job.from_hash(job_id, raw)
        if job.status == Status.RUNNING and job.deadline is not None and time.time() > job.deadline:
            message = "The worker processing this job stopped before finishing it."
            guard = ("deadline", repr(job.deadline))
            if self.fail(job_id, ErrorCode.WORKER_LOST, message, from_statuses=(Status.RUNNING,), guard=guard):
                log.warning("job %s failed: worker %s passed its deadline without finishing", job_id, job.worker)
            return self.get(job_id)
        return job

    def cancel(self, job_id: str) -> tuple[Status | None, bool]:
        """Cancel a queued or running job. Returns (status before or None if gone, whether it was canceled)."""
        return self._apply(job_id, ACTIVE, Status.CANCELED, fields={"finished_at": repr(time.time())})

    def wait_finished(self, job_id: str, timeout: float, blocking_redis: Redis | None = None,
                      shared: bool = False) -> bool:
        """Block until the job is finished or the timeout passes; no polling loop. `shared` (a job
        made with an Idempotency-Key, which several requests may wait on): the notification is put
        back for the next waiter, and expires DONE_LIST_TTL seconds later."""
        client = blocking_redis or self.redis
        popped = client.blpop([self.done_key(job_id)], timeout=timeout)
        if popped is None:
            return False
        if not shared:
            return True
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self.done_key(job_id), popped[1])
            pipe.expire(self.done_key(job_id), DONE_LIST_TTL)
            pipe.execute()
        return True

    def load_output(self, job_id: str, number: int) -> bytes | None:
        """Document `number` (1-based) of a succeeded job's binary result, or None."""
        if number < 1:
            return None
        data: bytes | None = self.redis.lindex(self.output_key(job_id), number - 1)  # type: ignore[assignment]
        return data

    def workers_alive(self, ttl: float) -> int:
        return int(self._heartbeat(keys=[self.workers_key], args=["", ttl]))

    # worker side
    def start(self, job_id: str, worker: str, hard_time_limit: float, max_attempts: int,
              lease_ttl: float = 10.0) -> tuple[str, int]:
        """Claim the job for a run under a lease of `lease_ttl` seconds. Returns ("running", attempt),
        ("exhausted", attempts) once the attempts are used up (the job is failed), ("held", 0) while
        another child runs it under a live lease, or (its other status or "" if gone, 0)."""
        now = time.time()
        deadline = now + hard_time_limit + DEADLINE_GRACE
        error = json.dumps(self._exhausted_error(job_id, max_attempts))
        status, attempts = self._start(
            keys=self.lease_keys(job_id),
            args=[repr(now), repr(deadline), worker, max_attempts, error, job_id, lease_ttl],
        )
        if status == b"exhausted":
            events.finished(self.redis, self.prefix, job_id, Status.FAILED, error)
        return status.decode(), int(attempts)

    def note_lost_run(self, job_id: str, reason: str) -> None:
        """In the worker's main process: how the child running this job died (billiard's words,
        e.g. "signal 11 (SIGSEGV)"), for the error once its attempts are used up."""
        self._progress_note(job_id, "lost_reason", reason[:200])

    def _exhausted_error(self, job_id: str, max_attempts: int) -> ErrorBody:
        reason = self.redis.hget(self.job_key(job_id), "lost_reason")
        return exhausted_error(reason.decode(errors="replace") if isinstance(reason, bytes) else "", max_attempts)

    def finished(self, job_id: str, status: Status, error_json: str | None = None) -> None:
        """Tell the logs and metrics a job ended, for a script that ended it (jobs/parts.py)."""
        events.finished(self.redis, self.prefix, job_id, status, error_json)

    def _progress_note(self, job_id: str, field: str, value: str) -> None:
        """Set a field of a running job's record (nothing if the job is gone or finished)."""
        self._note(keys=[self.job_key(job_id)], args=[field, value])

    def renew_lease(self, job_id: str, worker: str, lease_ttl: float) -> Status | None:
        """Extend the lease of a job this worker runs; returns the job's status (None if gone)."""
        return _status(self._renew(keys=[self.job_key(job_id), self.leases_key], args=[job_id, worker, lease_ttl]))

    def lapsed_leases(self, limit: int = 100) -> list[str]:
        """Jobs whose lease ran out (by Redis' clock): their child stopped renewing it."""
        return [raw.decode() for raw in self._lapsed(keys=[self.leases_key], args=[limit])]

    def lapse(self, job_id: str) -> None:
        """Mark the job's lease lapsed now, so the next reaper pass handles it again."""
        self.redis.zadd(self.leases_key, {job_id: 0}, xx=True)

    def requeue_lapsed(self, job_id: str, max_attempts: int, resend_after: float) -> tuple[str, int, int]:
        """Re-queue a job whose lease lapsed, or fail it once its attempts are used up.

        Returns (what, attempts so far, pages): "requeued" or "resend" (the caller sends the
        job a queue message), "exhausted" (failed `worker_lost`), or "" (nothing to do). The
        job keeps a lease of `resend_after` seconds while it waits, so a message lost with a
        dying reaper is sent again."""
        error = json.dumps(self._exhausted_error(job_id, max_attempts))
        what, attempts, pages = self._requeue(
            keys=self.lease_keys(job_id),
            args=[job_id, max_attempts, error, repr(time.time()), resend_after],
        )
        if what == b"exhausted":
            events.finished(self.redis, self.prefix, job_id, Status.FAILED, error)
        return what.decode(), int(attempts), int(pages)

    def load_upload(self, job_id: str, index: int = 0) -> bytes | None:
        """One uploaded file (fetched one at a time: a batch is never all in memory twice)."""
        data: bytes | None = self.redis.lindex(self.upload_key(job_id), index)  # type: ignore[assignment]
        return data

    def progress(self, job_id: str, done: int, worker: str = "") -> Status | None:
        """Record pages done while the job runs; returns its status (None if it is gone, or if
        `worker` is given and another worker runs the job now)."""
        status = self._progress(keys=[self.job_key(job_id)], args=[done, worker])
        return _status(status)

    def succeed(self, job_id: str, result: dict[str, Any], documents: Sequence[bytes] = (),
                worker: str | None = None, part: int | None = None) -> bool:
        """Record the result, and a binary result's documents under the output key, in one
        compare-and-set: a job canceled, expired or taken over by another worker meanwhile
        (only this worker's run counts, if `worker` is given; with `part`, this worker's run
        of that part of a split job) gets neither."""
        fields = {"finished_at": repr(time.time()), "result": json.dumps(result)}
        total = self.redis.hget(self.job_key(job_id), "progress_total")
        if isinstance(total, bytes):
            fields["progress_done"] = total.decode()
        if part is not None and worker:
            return self._apply(job_id, (Status.RUNNING,), Status.SUCCEEDED, fields=fields, documents=documents,
                               part_owner=(part, worker))[1]
        guard = ("worker", worker) if worker else None
        return self._apply(job_id, (Status.RUNNING,), Status.SUCCEEDED, fields=fields, guard=guard,
                           documents=documents)[1]

    def fail(
        self,
        job_id: str,
        code: ErrorCode,
        message: str,
        from_statuses: tuple[Status, ...] = ACTIVE,
        guard: tuple[str, str] | None = None,
        part_owner: tuple[int, str] | None = None,
    ) -> bool:
        """Fail the job (from `from_statuses`; only if the `guard` field holds its value, or with
        `part_owner` = (part, worker) only while that worker owns that part of a split job)."""
        fields = {"finished_at": repr(time.time()), "error": json.dumps(error_body(code, message))}
        return self._apply(job_id, from_statuses, Status.FAILED, fields=fields, guard=guard, part_owner=part_owner)[1]

    def heartbeat(self, member: str, ttl: float) -> int:
        return int(self._heartbeat(keys=[self.workers_key], args=[member, ttl]))

    def forget_worker(self, member: str) -> None:
        self.redis.zrem(self.workers_key, member)

    def _apply(
        self,
        job_id: str,
        from_statuses: tuple[Status, ...],
        to_status: Status,
        fields: dict[str, Any],
        guard: tuple[str, str] | None = None,
        documents: Sequence[bytes] = (),
        part_owner: tuple[int, str] | None = None,
    ) -> tuple[Status | None, bool]:
        """Set a final status (every transition this store makes outside `start` is to one)."""
        pairs: list[Any] = []
        for name, value in fields.items():
            pairs += [name, value]
        guard_field, guard_value = guard or ("", "")
        guarded = self.job_key(job_id)
        if part_owner is not None:  # the part's owner, in the parts hash (jobs/parts.py: "w<n>")
            guard_field, guard_value, guarded = f"w{part_owner[0]}", part_owner[1], self.parts_key(job_id)
        terminal = to_status.finished
        if documents and not terminal:
            raise ValueError("documents are stored with a final status only")
        before, applied = self._transition(
            keys=[*self._transition_keys(job_id), guarded],
            args=[",".join(from_statuses), str(to_status), "1" if terminal else "0", guard_field, guard_value, job_id,
                  len(documents), *documents, *pairs],
        )
        if applied and terminal:  # once per job: the compare-and-set lets only one final status through
            events.finished(self.redis, self.prefix, job_id, to_status, fields.get("error"))
        return _status(before), bool(applied)


def _status(raw: bytes | str | None) -> Status | None:
    text = raw.decode() if isinstance(raw, bytes) else (raw or "")
    return Status(text) if text else None
