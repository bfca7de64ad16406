"""Every error leaves as {"error": {"code", "message"}} with its status; never a stack trace.

Codes and their statuses are jobs/errors.py's one table; a 503 always carries Retry-After.
"""
from __future__ import annotations

import logging
import socket
import time
from typing import Any

from flask import Flask, Response, jsonify, request
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from jobs.errors import ErrorCode, status_of

log = logging.getLogger(__name__)

# Werkzeug's own errors (routing, body limits) get stable codes and plain messages.
HTTP_CODES = {
    400: (ErrorCode.BAD_REQUEST, "The request is malformed."),
    404: (ErrorCode.NOT_FOUND, "There is nothing at this URL."),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "This URL does not accept that method."),
    408: (ErrorCode.REQUEST_TIMEOUT, "The request body arrived too slowly."),
    411: (ErrorCode.LENGTH_REQUIRED, "Send a Content-Length header."),
    413: (ErrorCode.PAYLOAD_TOO_LARGE, "The request body is larger than the limit."),
    414: (ErrorCode.URI_TOO_LONG, "The URL is too long."),
    415: (ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Send application/json or multipart/form-data."),
    431: (ErrorCode.HEADERS_TOO_LARGE, "The request headers are too large."),
}


# A body refused as too large is still read (and dropped) up to this many times the body limit,
# for at most DRAIN_SECONDS, before the connection closes: clients that send the whole body
# before reading the answer (Python's urllib, many others) then read the 413 instead of a
# broken pipe. A larger declared body is not drained: the connection just closes.
DRAIN_FACTOR = 2
DRAIN_SECONDS = 10.0


def drain_request_body(limit: int, seconds: float = DRAIN_SECONDS) -> int:
    """Read and drop what is left of the request body, up to `limit` bytes and `seconds`; returns bytes read."""
    stream = request.environ.get("wsgi.input")
    length = request.content_length
    if stream is None or (length is not None and length > limit):
        return 0
    sock = request.environ.get("gunicorn.socket")
    deadline = time.monotonic() + seconds
    drained = 0
    try:
        while drained < limit:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if isinstance(sock, socket.socket):
                sock.settimeout(left)  # a sender stalling mid-body cannot hold the drain longer
            chunk = stream.read(min(256 * 1024, limit - drained))
            if not chunk:
                break
            drained += len(chunk)
    except (OSError, ValueError):
        pass
    return drained


class ApiError(Exception):
    """An error the client can act on; raised anywhere in a request, rendered by the handler.

    The status is the code's (jobs/errors.py); a code read back from a job record that this
    version does not know answers 500.
    """

    def __init__(self, code: ErrorCode | str, message: str, headers: dict[str, str] | None = None, **extra: str):
        super().__init__(message)
        self.code = str(code)
        self.status = status_of(self.code)
        self.message = message
        self.headers = headers or {}
        self.extra = extra


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   **extra: Any) -> Response:
    response = jsonify({"error": {"code": str(code), "message": message}, **extra})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    def retry_after() -> dict[str, str]:
        return {"Retry-After": str(app.config["OCR_SETTINGS"].retry_after)}

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        headers = ({**retry_after(), **exc.headers}) if exc.status == 503 else exc.headers
        return error_response(exc.status, exc.code, exc.message, headers, **exc.extra)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code, message = HTTP_CODES.get(status, (ErrorCode.HTTP_ERROR, "The request could not be handled."))
        headers = {}
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            length = request.content_length
            if limit and length is not None and length <= limit and request.mimetype == "multipart/form-data":
                # The body fits: werkzeug's multipart limits refused the form itself.
                message = (f"The form has too many parts or too large a field: at most "
                           f"{app.config['MAX_FORM_PARTS']} parts, {app.config['MAX_FORM_MEMORY_SIZE']} bytes per "
                           "field that is not a file.")
            elif limit:
                message = f"The request body is larger than the limit of {limit} bytes."
                drain_request_body(DRAIN_FACTOR * limit)
            headers["Connection"] = "close"
        valid_methods = getattr(exc, "valid_methods", None)
        if status == 405 and valid_methods:
            headers["Allow"] = ", ".join(valid_methods)
        return error_response(status, code, message, headers)

    @app.errorhandler(RedisError)
    @app.errorhandler(BrokerError)
    def store_down(exc: Exception) -> Response:
        log.error("Redis unavailable: %s", exc)
        return error_response(503, ErrorCode.SERVICE_UNAVAILABLE, "The job store is unavailable; try again shortly.",
                              retry_after())

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, ErrorCode.INTERNAL_ERROR, "The server failed to handle this request.")
