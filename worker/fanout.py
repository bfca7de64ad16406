"""Jobs split into page tasks: the split, one page, and the assembly of the result.

A job of at least OCR_FANOUT_MIN_PAGES pages (settings.fans_out) is split by its own task
once it runs (`split`): instead of reading the pages itself, it queues the first window of
page tasks ("ocr.part", jobs/parts.py has the rules) and returns. Any free child of any
worker takes a page task (`run_part`), reads that one page with JobRunner.read under the
same page time limit, and records the outcome; each recorded page queues the next. The
child that records the last page assembles the result in page order with JobRunner.assemble
(the same rendering, searchable PDFs included, as a job run in one task) and succeeds the
job through the store's compare-and-set, guarded by its ownership of the assembly.

Failures, as for a job in one task: a file's error (undecodable, a page past its time limit)
fails a one-file job at once, naming the page where the page is the cause; in a job of
several files it becomes that file's error in the result. The upload expiring, memory, an
unknown model or an engine failure fail the job. Page tasks carry a one-page job's time
limits. A child killed mid-page loses that page only: its lease lapses and the reaper
(worker/child.py) queues it again.
"""
from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from jobs import events
from jobs.errors import ErrorCode
from jobs.model import Job, PartOutcome, Status
from jobs.parts import page_parts, part_label, splittable
from jobs.settings import Settings, get_settings
from jobs.store import JobStore
from ocrcore import UnknownModelError
from ocrcore.formats import PageResult

from . import child
from .processing import FileError, JobRunner, UploadExpired

log = logging.getLogger(__name__)

# Uploads a child keeps after reading a page, so the next page of the same document does not
# fetch the whole file from Redis again; two, for two documents running at once.
UPLOADS_KEPT = 2
_uploads: OrderedDict[tuple[str, int], bytes] = OrderedDict()


def split(store: JobStore, job: Job, member: str, settings: Settings) -> bool:
    """In a job's own task, once it runs: split it into page tasks if it is large enough.
    Returns False for a job to run in this task as before."""
    pages = job.progress_total
    if not settings.fans_out(pages) or not splittable(job.files):
        return False
    send = child.part_store().fan_out(job.id, member, pages, settings.heartbeat_ttl, settings.resend_after)
    if not send:
        log.info("job %s not split: it was canceled, taken over or split meanwhile", job.id)
        return True
    _queue(job.id, send)
    log.info("job %s split into %d page tasks, %d queued now", job.id, pages, len(send))
    return True


def run_part(job_id: str, part: int, soft_limit: float) -> None:
    """One part of a split job: a page, or (the last part) the assembly."""
    settings = get_settings()
    store = child.job_store()
    member = child.member()
    job = store.get(job_id)
    if job is None:
        log.info("job %s part %d skipped: the job is gone (expired)", job_id, part)
        return
    label = part_label(job.files, part)
    status, attempt = child.part_store().start(job_id, part, member, settings.lease_ttl, settings.max_attempts,
                                               label)
    if status == "exhausted":
        log.error("job %s failed: the worker running %s died %d times", job_id, label, attempt - 1)
        return
    if status != "running":
        log.info("job %s part %d (%s) skipped: %s", job_id, part, label,
                 {"held": "another child runs it under a live lease", "done": "it is done"}.get(
                     status, f"the job is {status or 'gone'}"))
        return
    if attempt > 1:
        log.warning("job %s: %s, attempt %d after a lost worker", job_id, label, attempt)
    pages = job.progress_total
    owned = part  # the part this child owns now: the page, then the assembly if the page was the last
    child.running(job_id, part)  # the heartbeat renews the part's lease from now on
    try:
        if part < pages and not _page(store, job, part, label, member, settings):
            return
        owned = pages
        child.running(job_id, pages)  # this child owns the assembly now: its lease is the one to renew
        _assemble(store, job, member, settings)
    except SoftTimeLimitExceeded:
        what = "Making the result" if owned >= pages else f"OCR of {label}"
        _fail(store, job.id, owned, member, ErrorCode.TIME_LIMIT,
              f"{what} did not finish within the {soft_limit:g} s time limit.")
    finally:
        child.running(None)


def _page(store: JobStore, job: Job, part: int, label: str, member: str, settings: Settings) -> bool:
    """Read one page and record it; True when it was the job's last page and this child now
    owns the assembly."""
    index, position = page_parts(job.files)[part]
    meta = job.files[index]
    runner = JobRunner(child.engine(), settings, job.files, job.options, load=lambda i: _upload(store, job.id, i),
                       report=lambda done: Status.RUNNING)
    started = time.perf_counter()
    error = None
    page: PageResult | None = None
    try:
        (page,) = list(runner.read(runner.upload(index), meta, [position]))
    except FileError as exc:
        if len(job.files) == 1 or isinstance(exc, UploadExpired):
            _fail(store, job.id, part, member, exc.code, exc.message)
            return False
        error = exc.body()  # that file's error in the result; the other files go on
    except MemoryError:
        log.error("job %s: %s needed more memory than the child's limit", job.id, label)
        _fail(store, job.id, part, member, ErrorCode.MEMORY_LIMIT,
              f"Processing {label} needed more memory than a worker may use ({settings.child_memory_limit_mb} MB).")
        return False
    except UnknownModelError:
        _fail(store, job.id, part, member, ErrorCode.UNKNOWN_MODEL,
              f"The model set {runner.options.model!r} is not installed on this worker.")
        return False
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        log.exception("job %s: the OCR engine failed on %s", job.id, label)
        _fail(store, job.id, part, member, ErrorCode.INTERNAL_ERROR, f"The OCR engine failed on {label}.")
        return False
    seconds = time.perf_counter() - started
    outcome = PartOutcome(page, error, round(seconds, 4), runner.timings, member)
    what, send = child.part_store().finish(job.id, part, member, outcome, settings.heartbeat_ttl,
                                           settings.resend_after, settings.lease_ttl)
    if what not in ("running", "assemble"):
        log.info("job %s stopped after %s: it is %s; the page is dropped", job.id, label,
                 what or "gone, or the page taken over by another worker")
        return False
    _queue(job.id, send)
    done = store.redis.hget(store.job_key(job.id), "parts_done")
    log.info("job %s part %d/%d (%s) %s on %s in %.3fs", job.id, part + 1, job.progress_total, label,
             "failed" if error else "read", member, seconds,
             extra={"part": part, "parts_done": int(done) if done else None})
    return what == "assemble"


def _assemble(store: JobStore, job: Job, member: str, settings: Settings) -> None:
    """The job's result from its pages, in page order; succeeds the job if this child still owns
    the assembly (a lapsed lease may have given it to another)."""
    pages = job.progress_total
    started = time.perf_counter()
    outcomes = child.part_store().outcomes(job.id, pages)
    if any(outcome is None for outcome in outcomes):  # never: the last page is recorded after all others
        _fail(store, job.id, pages, member, ErrorCode.INTERNAL_ERROR, "A page of this job was lost.")
        return
    recorded = [outcome for outcome in outcomes if outcome is not None]
    by_file: list[list[PageResult] | FileError] = [[] for _ in job.files]
    for (index, _), outcome in zip(page_parts(job.files), recorded, strict=True):
        pages_of_file = by_file[index]
        if isinstance(pages_of_file, FileError):
            continue  # the file's first error is its error
        if outcome.error is not None:
            by_file[index] = FileError(ErrorCode(outcome.error["code"]), outcome.error["message"])
        elif outcome.page is not None:
            pages_of_file.append(outcome.page)
    runner = JobRunner(child.engine(), settings, job.files, job.options, load=lambda i: _upload(store, job.id, i),
                       report=lambda done: Status.RUNNING)
    # Every file's processing time counts from the job's start, as in one task.
    since = time.perf_counter() - (time.time() - (job.started_at or time.time()))
    try:
        result = runner.assemble(by_file, since)
    except FileError as exc:
        _fail(store, job.id, pages, member, exc.code, exc.message)
        return
    except MemoryError:
        _fail(store, job.id, pages, member, ErrorCode.MEMORY_LIMIT,
              f"Making the result needed more memory than a worker may use ({settings.child_memory_limit_mb} MB).")
        return
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        log.exception("job %s: assembling its result failed", job.id)
        _fail(store, job.id, pages, member, ErrorCode.INTERNAL_ERROR, "Making the result of this job failed.")
        return
    timings: dict[str, float] = {}
    for outcome in recorded:
        for stage, seconds in outcome.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    events.run_started(job.id, started_at=job.started_at)  # the "finished" line: the job's time, all stages
    events.stages(timings)
    if store.succeed(job.id, result, runner.documents, worker=member, part=pages):
        children = len({outcome.worker for outcome in recorded})
        ocr = sum(1 for o in recorded if o.page is not None and o.page.source == "ocr")
        log.info("job %s succeeded: %d file(s), %d page(s) OCRed, %d from a text layer, by %d child(ren), output %s, "
                 "%.3fs after its start (assembly %.3fs)", job.id, len(job.files), ocr,
                 sum(1 for o in recorded if o.page is not None) - ocr, children, job.options.output_format,
                 time.time() - (job.started_at or time.time()), time.perf_counter() - started)
    else:
        log.info("job %s assembled but was canceled or taken over meanwhile; result dropped", job.id)


def _fail(store: JobStore, job_id: str, part: int, member: str, code: ErrorCode, message: str) -> None:
    if store.fail(job_id, code, message, part_owner=(part, member)):
        log.info("job %s failed: %s (part %d)", job_id, code, part)


def _queue(job_id: str, parts: list[int]) -> None:
    """Send the parts' messages; one that cannot be sent is left to its lease (the reaper sends it)."""
    for part in parts:
        try:
            child.producer().enqueue_part(job_id, part)
        except Exception as exc:
            log.warning("job %s: could not queue part %d (the reaper will): %s", job_id, part, exc)


def _upload(store: JobStore, job_id: str, index: int) -> bytes | None:
    key = (job_id, index)
    data = _uploads.get(key)
    if data is None:
        data = child.crash_hook(store.load_upload(job_id, index))
        if data is None:
            return None
        _uploads[key] = data
        while len(_uploads) > UPLOADS_KEPT:
            _uploads.popitem(last=False)
    _uploads.move_to_end(key)
    return data


def describe(job_id: str, args: Any) -> str:
    """For the main process's error messages: part n's label, or "" when unknown."""
    try:
        part = int(args[1])
        job = child.job_store().get(job_id)
    except Exception:  # Redis away, or odd arguments: the message goes without the page
        return ""
    return part_label(job.files, part) if job is not None else ""
