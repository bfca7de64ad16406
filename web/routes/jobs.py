"""The asynchronous job API: submit, poll, cancel."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from spectree import Response

from jobs.errors import ErrorCode
from jobs.model import looks_like_job_id

from ..errors import ApiError
from ..openapi import spec
from ..schemas import ErrorResponse, JobBody, JobCreated, OcrFormRequest, OcrJsonRequest
from ..validation import read_upload
from .common import job_queue, job_url, settings

bp = Blueprint("jobs", __name__)

NOT_FOUND = "No job with this id; it never existed or its result expired."
JOB_ID_PARAMETER = {"job_id": "The id POST /jobs returned."}


@bp.post("/jobs")
@spec.validate(
    json=OcrJsonRequest,
    form=OcrFormRequest,
    resp=Response(HTTP_202=JobCreated, HTTP_400=ErrorResponse, HTTP_413=ErrorResponse, HTTP_415=ErrorResponse,
                  HTTP_422=ErrorResponse, HTTP_503=ErrorResponse),
    tags=["jobs"],
    skip_validation=True,
)
def create_job():
    """Queue one or more images or PDFs for OCR and return at once.

    Same inputs as POST /ocr. Poll the job at the returned `url` (also the Location header).
    """
    upload = read_upload(request, settings())
    job = job_queue().submit(upload)
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
    return jsonify(job.public())


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
    return jsonify(job.public())
