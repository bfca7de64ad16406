"""gunicorn's own refusals as the API's errors.

gunicorn answers some requests before the app sees them: a request line over
limit_request_line (414), too many or too large header fields (431), a malformed request
line, method or header (400), a broken chunked body. It writes a small HTML page without the
security headers. `install()` (called in each gunicorn worker, web/gunicorn_conf.py) replaces
that writer: the same status, as {"error": {"code", "message"}} with the security headers, and
a fixed sentence per status instead of gunicorn's text (which quotes the offending input).
"""
from __future__ import annotations

import json

from jobs.errors import ErrorCode

from . import SECURITY_HEADERS
from .errors import HTTP_CODES

_REASONS = {400: "Bad Request", 403: "Forbidden", 414: "URI Too Long", 417: "Expectation Failed",
            431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented"}


def error_bytes(status: int) -> bytes:
    """The whole HTTP response gunicorn sends for a refusal of its own."""
    if status == 500:
        code, message = ErrorCode.INTERNAL_ERROR, "The server failed to handle this request."
    else:
        code, message = HTTP_CODES.get(status, (ErrorCode.HTTP_ERROR, "The request could not be handled."))
    if status == 400:
        message = "The request line or its headers are malformed."
    body = json.dumps({"error": {"code": str(code), "message": message}}).encode()
    headers = {"Connection": "close", "Content-Type": "application/json", "Content-Length": str(len(body)),
               "Cache-Control": "no-store", **SECURITY_HEADERS}
    head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    return head.encode("latin-1") + body


def install() -> None:
    from gunicorn import util

    def write_error(sock, status_int, reason, mesg):
        util.write_nonblock(sock, error_bytes(int(status_int)))

    util.write_error = write_error
