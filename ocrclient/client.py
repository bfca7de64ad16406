"""The Python API of the OCR service: submit a file as a job, wait for it, get its result.

    from ocrclient import Client
    client = Client("http://localhost:5005")
    result = client.ocr("receipt.jpg")                        # {"processing_time", "results": [...]}
    text = client.ocr("report.pdf", output_format="markdown")["content"]
    job = client.submit("book.pdf", page_range="0-19")        # {"id", "status", "url"}
    done = client.wait(job["id"])                             # the final job document

Everything goes through the jobs API (POST /jobs, GET /jobs/<id>, DELETE /jobs/<id>), so a
long document never holds an HTTP request open. A 503 or 429 answer is retried after the
server's Retry-After (the queue is full, or Redis is away: nothing was queued). Every
submission carries an Idempotency-Key (a new UUID, or the caller's), so it is retried after a
connection error too, as reads are: a retry after a lost answer gets the job the first try
made, never a second one. A job still running when the caller is interrupted (Ctrl-C, or the
`stop` event set) is canceled on the server.
"""
from __future__ import annotations

import email.utils
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import requests
from requests.adapters import HTTPAdapter

DEFAULT_URL = "http://localhost:5005"
FINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})
RETRY_STATUSES = frozenset({429, 503})
USER_AGENT = "ocrserve-client/0.1"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class OcrClientError(Exception):
    """Anything that kept a file from being read: the message is for people."""


class ServiceError(OcrClientError):
    """The service answered with an error ({"error": {"code", "message"}})."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{message} ({status} {code})")
        self.status = status
        self.code = code
        self.message = message


class JobFailed(OcrClientError):
    """The job ended failed or canceled; `job` is its final document."""

    def __init__(self, job: dict[str, Any]):
        error = job.get("error") or {}
        self.job = job
        self.code = error.get("code") or job.get("status", "failed")
        self.message = error.get("message") or f"The job ended {job.get('status')}."
        super().__init__(f"{self.message} ({self.code})")


class Unreachable(OcrClientError):
    """The service could not be reached (after the retries allowed)."""


class Stopped(Exception):
    """The caller's `stop` event was set while waiting (the job, if any, was canceled)."""


def _retry_after(response: requests.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if there is one."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server (connection refused or timed out
    while connecting), so even a POST may be sent again without queueing a job twice."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return type(reason).__name__ in {"NewConnectionError", "NameResolutionError"}


def _form_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class Client:
    """A client of one OCR service; thread-safe (one requests session, shared connections).

    timeout: seconds for each HTTP exchange. retries: how often one call is sent again after a
    503/429 or a connection error. max_retry_wait: the longest pause honoured between tries.
    poll_interval, max_poll_interval: GET /jobs/<id> starts at the first and slows to the second.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        timeout: float = 60.0,
        retries: int = 8,
        max_retry_wait: float = 60.0,
        poll_interval: float = 0.25,
        max_poll_interval: float = 2.0,
        session: requests.Session | None = None,
    ):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.setdefault("User-Agent", USER_AGENT)

    # --- the jobs API ------------------------------------------------------------------

    def submit(
        self,
        file: str | Path | bytes | BinaryIO,
        *,
        filename: str | None = None,
        stop: threading.Event | None = None,
        idempotency_key: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """POST /jobs with one file (a path, bytes or a binary file object) and the request's
        options (output_format, model, use_angle_cls, det_limit_side, force_ocr,
        paginate_output, page_range, layout, callback_url). Returns the 202 body {"id", "status",
        "url"}. The submission is sent with `idempotency_key` (a new UUID if none is given) and
        sent again under the same key if its answer is lost."""
        if isinstance(file, str | Path):
            path = Path(file)
            data = path.read_bytes()
            filename = filename or path.name
        elif isinstance(file, bytes | bytearray | memoryview):
            data = bytes(file)
        else:
            data = file.read()
        form = {name: _form_value(value) for name, value in options.items() if value is not None}
        headers = {IDEMPOTENCY_HEADER: idempotency_key or str(uuid.uuid4())}
        response = self._send("POST", "/jobs", safe=True, stop=stop, headers=headers,
                              files={"file": (filename or "upload", data)}, data=form)
        return self._json(response, expected=202)

    def job(self, job_id: str, *, stop: threading.Event | None = None) -> dict[str, Any]:
        """GET /jobs/<id>: the job's status document."""
        return self._json(self._send("GET", f"/jobs/{job_id}", safe=True, stop=stop), expected=200)

    def cancel(self, job_id: str) -> dict[str, Any] | None:
        """DELETE /jobs/<id>: the canceled job, or None if it had already finished or is gone."""
        response = self._send("DELETE", f"/jobs/{job_id}", safe=True)
        if response.status_code in (404, 409):
            return None
        return self._json(response, expected=200)

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        stop: threading.Event | None = None,
        on_update: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll the job until it is succeeded, failed or canceled, and return its document.
        on_update sees every document polled (status, progress). Raises TimeoutError after
        `timeout` seconds (the job goes on), Stopped when `stop` is set (the job is canceled)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = self.poll_interval
        while True:
            job = self.job(job_id, stop=stop)
            if on_update is not None:
                on_update(job)
            if job.get("status") in FINAL_STATUSES:
                return job
            if deadline is not None and time.monotonic() + interval > deadline:
                raise TimeoutError(f"job {job_id} is still {job.get('status')} after {timeout:g} s")
            if stop is not None:
                if stop.wait(interval):
                    self._cancel_quietly(job_id)
                    raise Stopped(job_id)
            else:
                time.sleep(interval)
            interval = min(interval * 1.5, self.max_poll_interval)

    def ocr(
        self,
        file: str | Path | bytes | BinaryIO,
        *,
        filename: str | None = None,
        timeout: float | None = None,
        stop: threading.Event | None = None,
        on_update: Callable[[dict[str, Any]], None] | None = None,
        idempotency_key: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Submit, wait, and return the job's result: the POST /ocr body for json, or
        {"processing_time", "output_format", "content"} for a text format. Raises JobFailed
        if the job failed. Interrupted (Ctrl-C, `stop`, timeout), the job is canceled."""
        job = self.submit(file, filename=filename, stop=stop, idempotency_key=idempotency_key, **options)
        try:
            final = self.wait(job["id"], timeout=timeout, stop=stop, on_update=on_update)
        except (KeyboardInterrupt, TimeoutError):
            self._cancel_quietly(job["id"])
            raise
        if final.get("status") != "succeeded":
            raise JobFailed(final)
        result: dict[str, Any] = final["result"]
        return result

    # --- metadata ----------------------------------------------------------------------

    def limits(self) -> dict[str, Any]:
        """GET /limits: what this server accepts (sizes, pages, formats)."""
        return self._json(self._send("GET", "/limits", safe=True), expected=200)

    def models(self) -> dict[str, Any]:
        """GET /models: the model sets and the default."""
        return self._json(self._send("GET", "/models", safe=True), expected=200)

    # --- plumbing ----------------------------------------------------------------------

    def _cancel_quietly(self, job_id: str) -> None:
        try:
            self.cancel(job_id)
        except (OcrClientError, requests.RequestException):
            pass  # best effort: the job's result expires on its own

    def _send(self, method: str, path: str, *, safe: bool, stop: threading.Event | None = None,
              **kwargs: Any) -> requests.Response:
        """One request, sent again after a 503/429 (when the server's Retry-After says) or a
        connection error (only if `safe`: a read, or a submission under an Idempotency-Key; or
        if it cannot have reached the server)."""
        attempt = 0
        while True:
            try:
                response = self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                if attempt >= self.retries or not (safe or _never_sent(exc)):
                    raise Unreachable(f"{method} {self.url}{path} failed: {exc}") from None
                delay = min(2.0 ** attempt * 0.5, self.max_retry_wait)
            else:
                if response.status_code not in RETRY_STATUSES or attempt >= self.retries:
                    return response
                suggested = _retry_after(response)
                delay = min(suggested if suggested is not None else 2.0 ** attempt, self.max_retry_wait)
            attempt += 1
            if stop is not None:
                if stop.wait(delay):
                    raise Stopped(path)
            else:
                time.sleep(delay)

    @staticmethod
    def _json(response: requests.Response, *, expected: int) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != expected or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, dict):
                raise ServiceError(response.status_code, str(error.get("code")), str(error.get("message")))
            raise ServiceError(response.status_code, "unexpected_response",
                               f"{response.request.method} {response.url} answered {response.status_code}")
        return body
