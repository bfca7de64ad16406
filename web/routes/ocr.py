"""POST /ocr: the synchronous call, a job the request waits for."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from flask import Response as FlaskResponse
from spectree import Response

from jobs.errors import ErrorCode, status_of
from jobs.model import Job, Status, document_numbers, with_document_urls
from ocrcore.formats import MIMETYPES

from ..errors import ApiError
from ..openapi import spec
from ..schemas import ErrorResponse, OcrFormRequest, OcrJsonRequest, OcrJsonResult, TimeoutResponse
from ..validation import idempotency_key, read_upload
from .common import document_response, document_url, job_queue, job_url, settings

bp = Blueprint("ocr", __name__)
log = logging.getLogger(__name__)


@bp.post("/ocr")
@spec.validate(
    json=OcrJsonRequest,
    form=OcrFormRequest,
    resp=Response(
        HTTP_200=OcrJsonResult, HTTP_400=ErrorResponse, HTTP_409=ErrorResponse, HTTP_413=ErrorResponse,
        HTTP_415=ErrorResponse, HTTP_422=ErrorResponse, HTTP_503=ErrorResponse,
        HTTP_504=TimeoutResponse,
    ),
    tags=["ocr"],
    skip_validation=True,
)
def ocr():
    """Recognize the text in an image or PDF and wait for the result.

    Send JSON {"image": "<base64>"} or a multipart form with a `file` (repeat it, or send
    JSON `images`, for several files). An image with output_format json answers
    {"processing_time", "results"}; a PDF answers {"processing_time", "pages"}; one file
    in another output_format answers that document itself (text/plain, text/markdown,
    text/html, application/xhtml+xml for hocr); several files answer
    {"processing_time", "files"}. output_format pdf answers the searchable PDF itself
    (application/pdf, an attachment) when the request makes one document: one PDF, or
    images only (all in one PDF, a page each), every file read; otherwise (several PDFs,
    PDFs with images, a file that failed) {"processing_time", "files"} with a download
    `url` in each file's result. If no result comes within the server's sync timeout
    the answer is 504 with the job's id and URL: the job keeps running and its result
    can be fetched there.

    An `Idempotency-Key` header makes a retry (after a timeout or a dropped connection)
    wait on the job the first request made instead of queuing another; the key with a
    different request answers 409 `idempotency_key_reused`. `callback_url` is accepted
    here too (useful when the wait ends 504): the job's status document is POSTed there
    once it ends.
    """
    key = idempotency_key(request)
    upload = read_upload(request, settings())
    queue = job_queue()
    if not queue.workers_alive():
        # Waiting the whole sync timeout for nobody helps no one; async jobs may still queue up.
        raise ApiError(ErrorCode.NO_WORKER, "No OCR worker is running; try again shortly.")
    job, again = queue.submit(upload, key)
    timeout = settings().sync_timeout
    finished = queue.wait(job.id, timeout, check_first=again, shared=key is not None)
    if finished is None:
        raise ApiError(ErrorCode.TIMEOUT, f"No result within {timeout:g} s; the job continues, poll its URL.",
                       id=job.id, url=job_url(job.id))
    return sync_answer(finished)


def sync_answer(job: Job) -> FlaskResponse:
    if job.status == Status.SUCCEEDED:
        result = job.result
        fmt = job.options.output_format
        if fmt == "pdf" and isinstance(result, dict):
            return pdf_answer(job, result)
        if fmt != "json" and isinstance(result, dict) and isinstance(result.get("content"), str):
            # One file in a text format: the document itself, ready for `curl -o`.
            response = FlaskResponse(result["content"], mimetype=MIMETYPES[fmt].split(";")[0])
            response.headers["Content-Type"] = MIMETYPES[fmt]
            response.headers["X-Processing-Time"] = str(result.get("processing_time", ""))
            return response
        return jsonify(result)
    if job.status == Status.CANCELED:
        raise ApiError(ErrorCode.CANCELED, "The job was canceled before it finished.")
    error = job.error or {"code": ErrorCode.INTERNAL_ERROR, "message": "The job failed."}
    status = status_of(error["code"])
    if status == 500:
        log.error("job %s failed: %s", job.id, error)
    if status in (503, 504):  # the service's failure, not the input's: say where the job is
        raise ApiError(error["code"], error["message"], id=job.id, url=job_url(job.id))
    raise ApiError(error["code"], error["message"])


def pdf_answer(job: Job, result: dict) -> FlaskResponse:
    """The one document a pdf job made, as a download; JSON with the documents' URLs otherwise."""
    numbers = document_numbers(result)
    entries = result.get("files", [{"result": result, "error": None}])
    if len(numbers) == 1 and all(entry.get("error") is None for entry in entries):
        data = job_queue().store.load_output(job.id, numbers[0])
        if data:
            first = entries[0]["result"]
            return document_response(data, str(first.get("filename") or "document.pdf"),
                                     result.get("processing_time", ""))
    return jsonify(with_document_urls(result, document_url(job)))
