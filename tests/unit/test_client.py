"""ocrclient.Client against a scripted HTTP server: Retry-After honoured on 503 and 429, errors
not retried, the job polled to its end, and canceled when the caller stops."""
from __future__ import annotations

import email.utils
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ocrclient import Client, JobFailed, ServiceError, Stopped
from ocrclient.client import _retry_after


class Scripted:
    """A server answering each (method, path) from a list of scripted answers (the last repeats)."""

    def __init__(self):
        self.script: dict[tuple[str, str], list[tuple[int, dict, dict]]] = {}
        self.log: list[tuple[float, str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.log.append((time.monotonic(), self.command, self.path))
                answers = outer.script.get((self.command, self.path)) or [(404, {}, {"error": {
                    "code": "not_found", "message": "There is nothing at this URL."}})]
                status, headers, body = answers.pop(0) if len(answers) > 1 else answers[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def calls(self, method: str, path: str) -> list[float]:
        return [at for at, m, p in self.log if (m, p) == (method, path)]


@pytest.fixture
def server():
    scripted = Scripted()
    yield scripted
    scripted.server.shutdown()


FULL = {"error": {"code": "queue_full", "message": "The queue is full; try again later."}}
JOB = {"id": "J1", "status": "queued", "url": "/jobs/J1"}


def job(status: str, **extra) -> dict:
    return {"id": "J1", "status": status, "progress": None, "result": None, "error": None, **extra}


def test_503_and_429_are_retried_after_retry_after(server):
    server.script[("POST", "/jobs")] = [(503, {"Retry-After": "1"}, FULL), (429, {"Retry-After": "1"}, FULL),
                                        (202, {}, JOB)]
    server.script[("GET", "/jobs/J1")] = [(200, {}, job("running")), (503, {"Retry-After": "1"}, FULL),
                                          (200, {}, job("succeeded", result={"processing_time": 0.1, "results": []}))]
    client = Client(server.url, poll_interval=0.05)
    assert client.ocr(b"\x89PNG\r\n\x1a\n...", filename="a.png") == {"processing_time": 0.1, "results": []}
    posts = server.calls("POST", "/jobs")
    assert len(posts) == 3
    assert posts[1] - posts[0] >= 0.95 and posts[2] - posts[1] >= 0.95  # the server's Retry-After, honoured
    gets = server.calls("GET", "/jobs/J1")
    assert len(gets) == 3 and gets[2] - gets[1] >= 0.95


def test_client_errors_are_not_retried_and_keep_the_servers_words(server):
    server.script[("POST", "/jobs")] = [(415, {}, {"error": {"code": "unsupported_media_type",
                                                             "message": "The file is not an image or a PDF."}})]
    with pytest.raises(ServiceError) as refused:
        Client(server.url).submit(b"text")
    assert refused.value.status == 415 and refused.value.code == "unsupported_media_type"
    assert str(refused.value) == "The file is not an image or a PDF. (415 unsupported_media_type)"
    assert len(server.calls("POST", "/jobs")) == 1


def test_retries_are_bounded(server):
    server.script[("POST", "/jobs")] = [(503, {"Retry-After": "0"}, FULL)]
    with pytest.raises(ServiceError) as refused:
        Client(server.url, retries=2).submit(b"x")
    assert refused.value.code == "queue_full"
    assert len(server.calls("POST", "/jobs")) == 3


def test_a_failed_job_raises_with_its_error(server):
    server.script[("POST", "/jobs")] = [(202, {}, JOB)]
    server.script[("GET", "/jobs/J1")] = [(200, {}, job("failed", error={
        "code": "undecodable_image", "message": "The image could not be decoded."}))]
    with pytest.raises(JobFailed) as failed:
        Client(server.url).ocr(b"x")
    assert failed.value.code == "undecodable_image" and failed.value.job["status"] == "failed"


def test_stopping_cancels_the_job_on_the_server(server):
    server.script[("POST", "/jobs")] = [(202, {}, JOB)]
    server.script[("GET", "/jobs/J1")] = [(200, {}, job("running"))]
    server.script[("DELETE", "/jobs/J1")] = [(200, {}, job("canceled"))]
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    with pytest.raises(Stopped):
        Client(server.url, poll_interval=0.05, max_poll_interval=0.1).ocr(b"x", stop=stop)
    assert len(server.calls("DELETE", "/jobs/J1")) == 1


def test_a_wait_timeout_cancels_the_job(server):
    server.script[("POST", "/jobs")] = [(202, {}, JOB)]
    server.script[("GET", "/jobs/J1")] = [(200, {}, job("running"))]
    server.script[("DELETE", "/jobs/J1")] = [(200, {}, job("canceled"))]
    with pytest.raises(TimeoutError):
        Client(server.url, poll_interval=0.05, max_poll_interval=0.1).ocr(b"x", timeout=0.3)
    assert len(server.calls("DELETE", "/jobs/J1")) == 1


def test_retry_after_as_an_http_date():
    class Answer:
        headers = {"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)}

    assert 28 <= _retry_after(Answer()) <= 30  # type: ignore[arg-type]
    Answer.headers = {"Retry-After": "soon"}
    assert _retry_after(Answer()) is None  # type: ignore[arg-type]


def test_the_console_script_is_the_cli():
    import importlib
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    target = pyproject["project"]["scripts"]["ocrserve"]
    module, _, name = target.partition(":")
    assert callable(getattr(importlib.import_module(module), name))
    assert any(p.startswith("ocrclient") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"])
