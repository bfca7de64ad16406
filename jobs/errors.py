"""Every error code the service answers with, its HTTP status, and the sentences for ocrcore's errors.

One table for both sides: the gateway answers a code with its status directly, and answers
a failed job's code with the same status in the sync POST /ocr; the worker fails jobs with
these codes. The gateway (opening a PDF to count its pages) and the worker (rendering it)
meet the same PDF errors and name them alike through `document_error`.
"""
from __future__ import annotations

from enum import StrEnum

from ocrcore.document import (
    DocumentError,
    PageRangeError,
    PdfEncryptedError,
    PdfPageTooLargeError,
    PdfTooManyPagesError,
)


class ErrorCode(StrEnum):
    # The request
    BAD_REQUEST = "bad_request"
    EMPTY_BODY = "empty_body"
    INVALID_JSON = "invalid_json"
    INVALID_FIELD = "invalid_field"
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    TOO_MANY_FILES = "too_many_files"
    UNKNOWN_MODEL = "unknown_model"
    INVALID_PAGE_RANGE = "invalid_page_range"
    INVALID_BASE64 = "invalid_base64"
    INVALID_CALLBACK_URL = "invalid_callback_url"
    CALLBACKS_DISABLED = "callbacks_disabled"  # callback_url sent to a server without OCR_CALLBACK_SECRET
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"  # the same Idempotency-Key with a different request
    EMPTY_IMAGE = "empty_image"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    TOO_MANY_PIXELS = "too_many_pixels"
    TOO_MANY_PAGES = "too_many_pages"
    PAGE_TOO_LARGE = "page_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    UNDECODABLE_IMAGE = "undecodable_image"
    INVALID_PDF = "invalid_pdf"
    PDF_ENCRYPTED = "pdf_encrypted"
    WORKER_CRASHED = "worker_crashed"  # the file crashed the worker child on every attempt
    MEMORY_LIMIT = "memory_limit"  # the file needed more memory than a worker child may use
    # HTTP itself (werkzeug's errors)
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REQUEST_TIMEOUT = "request_timeout"
    LENGTH_REQUIRED = "length_required"
    URI_TOO_LONG = "uri_too_long"
    HEADERS_TOO_LARGE = "headers_too_large"
    HTTP_ERROR = "http_error"
    # Jobs
    JOB_FINISHED = "job_finished"  # DELETE of a finished job
    CANCELED = "canceled"  # a sync /ocr whose job was canceled
    TIMEOUT = "timeout"  # a sync /ocr that outlived the sync timeout (the job goes on)
    TIME_LIMIT = "time_limit"
    # The service, not the input: try again later
    QUEUE_FULL = "queue_full"
    NO_WORKER = "no_worker"
    NOT_READY = "not_ready"
    SERVICE_UNAVAILABLE = "service_unavailable"
    ENQUEUE_FAILED = "enqueue_failed"
    WORKER_LOST = "worker_lost"
    UPLOAD_EXPIRED = "upload_expired"
    INTERNAL_ERROR = "internal_error"

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self]

    @property
    def retryable(self) -> bool:
        """The service failed, not the input: the same request may succeed later (503 + Retry-After)."""
        return self.http_status == 503


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.EMPTY_BODY: 400,
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.INVALID_FIELD: 400,
    ErrorCode.MISSING_FIELD: 400,
    ErrorCode.UNKNOWN_FIELD: 400,
    ErrorCode.TOO_MANY_FILES: 400,
    ErrorCode.UNKNOWN_MODEL: 400,
    ErrorCode.INVALID_PAGE_RANGE: 400,
    ErrorCode.INVALID_BASE64: 400,
    ErrorCode.INVALID_CALLBACK_URL: 400,
    ErrorCode.CALLBACKS_DISABLED: 400,
    ErrorCode.INVALID_IDEMPOTENCY_KEY: 400,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 409,
    ErrorCode.EMPTY_IMAGE: 400,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.TOO_MANY_PIXELS: 413,
    ErrorCode.TOO_MANY_PAGES: 413,
    ErrorCode.PAGE_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.UNDECODABLE_IMAGE: 422,
    ErrorCode.INVALID_PDF: 422,
    ErrorCode.PDF_ENCRYPTED: 422,
    ErrorCode.WORKER_CRASHED: 422,
    ErrorCode.MEMORY_LIMIT: 413,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.LENGTH_REQUIRED: 411,
    ErrorCode.URI_TOO_LONG: 414,
    ErrorCode.HEADERS_TOO_LARGE: 431,
    ErrorCode.HTTP_ERROR: 400,
    ErrorCode.JOB_FINISHED: 409,
    ErrorCode.CANCELED: 409,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.TIME_LIMIT: 504,
    ErrorCode.QUEUE_FULL: 503,
    ErrorCode.NO_WORKER: 503,
    ErrorCode.NOT_READY: 503,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.ENQUEUE_FAILED: 503,
    ErrorCode.WORKER_LOST: 503,
    ErrorCode.UPLOAD_EXPIRED: 503,
    ErrorCode.INTERNAL_ERROR: 500,
}


def status_of(code: str) -> int:
    """The HTTP status for a stored code (500 for one this version does not know)."""
    try:
        return ErrorCode(code).http_status
    except ValueError:
        return 500


# Any other DocumentError is a PDF that cannot be read: "invalid_pdf".
_DOCUMENT_CODES = (
    (PdfEncryptedError, ErrorCode.PDF_ENCRYPTED),
    (PageRangeError, ErrorCode.INVALID_PAGE_RANGE),
    (PdfPageTooLargeError, ErrorCode.PAGE_TOO_LARGE),
    (PdfTooManyPagesError, ErrorCode.TOO_MANY_PAGES),
)


def document_error(exc: DocumentError) -> tuple[ErrorCode, str]:
    """The error code and message for a PDF ocrcore refused."""
    code = next((code for kind, code in _DOCUMENT_CODES if isinstance(exc, kind)), ErrorCode.INVALID_PDF)
    return code, sentence(exc)


def sentence(exc: Exception) -> str:
    """ocrcore's lower-case messages as the API's sentences."""
    text = str(exc).strip()
    if text[:1].islower() and not text.split(" ", 1)[0].count("_"):  # never "Page_range"
        text = text[:1].upper() + text[1:]
    return text + ("" if text.endswith(".") else ".")
