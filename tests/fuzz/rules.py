"""The service's own rules for any HTTP response: the security headers; every 4xx/5xx is JSON
{"error": {"code", "message"}} with a code of jobs/errors.py whose status is the response's; no
answer carries a stack trace or a path inside the server. Used by the fuzzing hooks
(tests/fuzz/st_hooks.py) on every response and by the HTTP hygiene tests. No side effects on
import (st_hooks registers with schemathesis; this module registers nothing)."""
from __future__ import annotations

import json
import re

from jobs.errors import HTTP_STATUS, ErrorCode

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# What a leaked traceback or internal path looks like.
LEAKS = re.compile(r'Traceback \(most recent call last\)|File "[^"]+", line \d+|/site-packages/|\.py", line|'
                   r"/(?:work|home|root|usr|tmp|app|opt)/[\w.-]+/", re.IGNORECASE)


def problems(status: int, headers: dict[str, str], body: bytes) -> list[str]:
    """What is wrong with one response by the service's rules (empty when nothing is)."""
    found = []
    lower = {name.lower(): value for name, value in headers.items()}
    for name, value in SECURITY_HEADERS.items():
        if lower.get(name.lower()) != value:
            found.append(f"header {name} is {lower.get(name.lower())!r}, expected {value!r}")
    if "default-src 'self'" not in lower.get("content-security-policy", ""):
        found.append("no Content-Security-Policy with default-src 'self'")
    text = body.decode("utf-8", "replace")
    if LEAKS.search(text):
        found.append(f"the body leaks internals: {LEAKS.search(text).group(0)!r}")  # type: ignore[union-attr]
    if status >= 400:
        if not lower.get("content-type", "").startswith("application/json"):
            found.append(f"error with Content-Type {lower.get('content-type')!r}, not JSON")
            return found
        try:
            envelope = json.loads(text)["error"]
            code, message = envelope["code"], envelope["message"]
        except (ValueError, KeyError, TypeError):
            return found + [f"error body is not the envelope: {text[:200]!r}"]
        if set(envelope) != {"code", "message"} or not isinstance(message, str) or not message:
            found.append(f"error envelope malformed: {envelope!r}")
        if code not in {str(c) for c in ErrorCode}:
            found.append(f"unknown error code {code!r}")
        elif HTTP_STATUS[ErrorCode(code)] != status:
            found.append(f"code {code!r} answered with {status}, its status is {HTTP_STATUS[ErrorCode(code)]}")
        if status == 503 and "retry-after" not in lower:
            found.append("503 without Retry-After")
    return found
