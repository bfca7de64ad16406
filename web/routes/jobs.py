"""The asynchronous job API: submit, poll, cancel, and fetch a binary result."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from spectree import Response

from jobs.errors import ErrorCode
from jobs.model import Job, Status, document_numbers, looks_like_job_id

from ..errors import ApiError
from ..openapi import spec
from ..schemas import ErrorResponse, JobBody, JobCreated, OcrFormRequest, OcrJsonRequest
from ..validation import idempotency_key, read_upload
from .common import document_response, document_url, job_queue, job_url, settings

bp = Blueprint("jobs", __name__)

NOT_FOUND = "No job with this id; it never existed or its result expired."
JOB_ID_PARAMETER = {"job_id": "The id POST /jobs returned."}


@bp.post("/jobs")
@spec.validate(
    json=OcrJsonRequest,
    form=OcrFormRequest,
    resp=Response(HTTP_202=JobCreated, HTTP_400=ErrorResponse, HTTP_409=ErrorResponse, HTTP_413=ErrorResponse,
                  HTTP_415=ErrorResponse, HTTP_422=ErrorResponse, HTTP_503=ErrorResponse),
    tags=["jobs"],
    skip_validation=True,
)
def create_job():
    """Queue one or more images or PDFs for OCR and return at once.

    Same inputs as POST /ocr. Poll the job at the returned `url` (also the Location header).
    With output_format pdf the job's result names the searchable PDF's `url`
    (GET /jobs/<id>/result); the PDF is kept as long as the job.

    An `Idempotency-Key` header (1-255 printable ASCII characters) makes retries safe: the
    same key with the same request (files and options) within the result TTL answers the
    same job (202, the same id) instead of queuing another; the key with a different
    request answers 409 `idempotency_key_reused`. With `callback_url` the job's status
    document is POSTed there, signed (Standard Webhooks), once it ends.
    """
    key = idempotency_key(request)
    upload = read_upload(request, settings())
    job, _again = job_queue().submit(upload, key)
    url = job_url(job.id)
    response = jsonify({"id": job.id, "status": job.status, "url": url})
    response.status_code = 202
    response.headers["Location"] = url
    return response


@bp.get("/jobs/<job_id>")
@spec.validate(resp=Response(HTTP_200=JobBody, HTTP_404=ErrorResponse, HTTP_503=ErrorResponse),
               tags=["jobs"], skip_validation=True, path_parameter_descriptions=JOB_ID_PARAMETER)
def get_job(job_id: str):
    """A job's status, timestamps and, once it succeeded, its result (the POST /ocr body)."""
    job = job_queue().store.get(job_id) if looks_like_job_id(job_id) else None
    if job is None:
        raise ApiError(ErrorCode.NOT_FOUND, NOT_FOUND)
    return jsonify(job.public(document_url(job)))


@bp.get("/jobs/<job_id>/result")
@bp.get("/jobs/<job_id>/result/<int:number>")
@spec.validate(
    resp=Response(
        HTTP_200=(None, "The document itself: application/pdf, as an attachment named after the uploaded file."),
        HTTP_404=ErrorResponse, HTTP_503=ErrorResponse,
    ),
    tags=["jobs"], skip_validation=True,
    path_parameter_descriptions={**JOB_ID_PARAMETER, "number": "Which document, 1-based, when the job made several."},
)
def get_result(job_id: str, number: int | None = None):
    """A succeeded output_format=pdf job's searchable PDF, as a download.

    The job's `result.url` (or, for several documents, each file's `result.url`) is this
    URL. 404 JSON while the job is not succeeded (the body says its `job_status`), for a job
    in another output format (its result is the job's JSON), and once it expired.
    """
    job = job_queue().store.get(job_id) if looks_like_job_id(job_id) else None
    if job is None:
        raise ApiError(ErrorCode.NOT_FOUND, NOT_FOUND)
    if job.status != Status.SUCCEEDED:
        state = {Status.FAILED: "failed", Status.CANCELED: "was canceled"}.get(job.status, f"is {job.status}")
        later = " yet; poll the job and fetch it once it succeeded" if not job.finished else ""
        raise ApiError(ErrorCode.NOT_FOUND, f"The job {state}: it has no result{later}.", job_status=str(job.status))
    if job.options.output_format != "pdf":
        raise ApiError(ErrorCode.NOT_FOUND, f"This job's output_format is {job.options.output_format}: "
                       f"its result is in the job itself, {job_url(job.id)}.", job_status=str(job.status))
    number = _document_number(job, number)
    data = job_queue().store.load_output(job.id, number)
    if not data:
        raise ApiError(ErrorCode.NOT_FOUND, "The document expired with its job.", job_status=str(job.status))
    entry = _document_entry(job, number)
    return document_response(data, str(entry.get("filename") or "document.pdf"))


def _document_number(job: Job, number: int | None) -> int:
    numbers = document_numbers(job.result)
    if number is None:
        if len(numbers) == 1:
            return numbers[0]
        if not numbers:
            raise ApiError(ErrorCode.NOT_FOUND, "The job made no document: none of its files could be read.",
                           job_status=str(job.status))
        raise ApiError(ErrorCode.NOT_FOUND,
                       f"The job made {len(numbers)} documents; fetch each at the url its file's result names.",
                       job_status=str(job.status))
    if number not in numbers:
        raise ApiError(ErrorCode.NOT_FOUND, f"The job has no document {number}.", job_status=str(job.status))
    return number


def _document_entry(job: Job, number: int) -> dict:
    """The result (or the first file's result) that refers to document `number`."""
    result = job.result or {}
    entries = [f.get("result") for f in result.get("files") or []] if "files" in result else [result]
    return next(e for e in entries if isinstance(e, dict) and e.get("document") == number)


@bp.delete("/jobs/<job_id>")
@spec.validate(resp=Response(HTTP_200=JobBody, HTTP_404=ErrorResponse, HTTP_409=ErrorResponse,
                             HTTP_503=ErrorResponse),
               tags=["jobs"], skip_validation=True, path_parameter_descriptions=JOB_ID_PARAMETER)
def cancel_job(job_id: str):
    """Cancel a queued or running job; a finished job answers 409."""
    if not looks_like_job_id(job_id):
        raise ApiError(ErrorCode.NOT_FOUND, NOT_FOUND)
    store = job_queue().store
    before, canceled = store.cancel(job_id)
    if not before:
        raise ApiError(ErrorCode.NOT_FOUND, NOT_FOUND)
    if not canceled:
        raise ApiError(ErrorCode.JOB_FINISHED, f"The job already finished ({before}); there is nothing to cancel.")
    job = store.get(job_id)
    if job is None:
        raise ApiError(ErrorCode.NOT_FOUND, NOT_FOUND)
    return jsonify(job.public(document_url(job)))
