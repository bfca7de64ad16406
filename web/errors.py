"""Every error leaves as {"error": {"code", "message"}} with its status; never a stack trace."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# Werkzeug's own errors (routing, body limits) get stable codes and plain messages.
HTTP_CODES = {
    400: ("bad_request", "The request is malformed."),
    404: ("not_found", "There is nothing at this URL."),
    405: ("method_not_allowed", "This URL does not accept that method."),
    408: ("request_timeout", "The request body arrived too slowly."),
    411: ("length_required", "Send a Content-Length header."),
    413: ("payload_too_large", "The request body is larger than the limit."),
    414: ("uri_too_long", "The URL is too long."),
    415: ("unsupported_media_type", "Send application/json or multipart/form-data."),
    431: ("headers_too_large", "The request headers are too large."),
}

# A job's or a file's error code -> the status it is answered with (POST /ocr, and the
# gateway's own check of a PDF).
JOB_ERROR_STATUS = {
    "undecodable_image": 422,
    "too_many_pixels": 413,
    "unknown_model": 400,
    "time_limit": 504,
    "invalid_pdf": 422,
    "pdf_encrypted": 422,
    "page_too_large": 413,
    "too_many_pages": 413,
    "invalid_page_range": 400,
    # The service failed the job, not the input: the caller may try again later.
    "worker_lost": 503,
    "upload_expired": 503,
}


class ApiError(Exception):
    """An error the client can act on; raised anywhere in a request, rendered by the handler."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra


def error_response(status: int, code: str, message: str, headers: dict | None = None, **extra):
    response = jsonify({"error": {"code": code, "message": message}, **extra})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def unavailable(message: str, retry_after: int) -> ApiError:
    return ApiError(503, "service_unavailable", message, headers={"Retry-After": str(retry_after)})


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.headers, **exc.extra)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        code, message = HTTP_CODES.get(status, ("http_error", "The request could not be handled."))
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            if limit:
                message = f"The request body is larger than the limit of {limit} bytes."
        headers = {}
        valid_methods = getattr(exc, "valid_methods", None)
        if status == 405 and valid_methods:
            headers["Allow"] = ", ".join(valid_methods)
        return error_response(status, code, message, headers)

    @app.errorhandler(RedisError)
    @app.errorhandler(BrokerError)
    def store_down(exc: Exception):
        log.error("Redis unavailable: %s", exc)
        retry = str(app.config["OCR_SETTINGS"].retry_after)
        return error_response(503, "service_unavailable", "The job store is unavailable; try again shortly.",
                              {"Retry-After": retry})

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "The server failed to handle this request.")
