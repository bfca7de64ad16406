"""HTTP hygiene at the edge: header and request-line limits (gunicorn, answered as JSON errors),
multipart part and field limits, JSON nesting, unknown methods, the security headers on every
answer, no stack trace or internal path in any. Limits come from ocrcore/limits.py."""
from __future__ import annotations

import io
import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

from ocrcore import limits
from tests.fuzz.rules import problems

from .helpers import HttpClient, b64


def raw_request(base_url: str, payload: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client library tidying them up); read the answer to the end."""
    where = urlsplit(base_url)
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


def assert_json_error(status: int, headers: dict[str, str], body: bytes, expected: int, code: str) -> dict:
    assert status == expected, body
    assert not problems(status, headers, body), problems(status, headers, body)
    error = json.loads(body)["error"]
    assert error["code"] == code, error
    return error


def get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n".encode("latin-1")


def test_a_request_line_over_the_limit_is_414_json(live_service):
    answer = raw_request(live_service.base_url, get("/jobs/" + "A" * limits.MAX_REQUEST_LINE))
    assert_json_error(*answer, 414, "uri_too_long")


def test_a_header_over_the_size_limit_is_431_json(live_service):
    marker = "<script>" + "x" * limits.MAX_HEADER_FIELD_BYTES
    status, headers, body = raw_request(live_service.base_url, get("/healthz", f"X-Big: {marker}\r\n"))
    assert_json_error(status, headers, body, 431, "headers_too_large")
    assert b"script" not in body  # gunicorn's own page quoted the input; ours never does


def test_too_many_header_fields_is_431_json(live_service):
    many = "".join(f"X-H{i}: {i}\r\n" for i in range(limits.MAX_HEADER_FIELDS + 5))
    answer = raw_request(live_service.base_url, get("/healthz", many))
    assert_json_error(*answer, 431, "headers_too_large")


def test_headers_within_the_limits_pass(live_service):
    fields = "".join(f"X-H{i}: {i}\r\n" for i in range(limits.MAX_HEADER_FIELDS - 5))
    status, _, body = raw_request(live_service.base_url, get("/healthz", fields))
    assert status == 200, body


@pytest.mark.parametrize("request_line", [b"G@T /healthz HTTP/1.1", b"GET /healthz HTTP/9.9", b"GET\x00 / HTTP/1.1"])
def test_malformed_request_lines_are_400_json(live_service, request_line):
    answer = raw_request(live_service.base_url, request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert_json_error(*answer, 400, "bad_request")


@pytest.mark.parametrize("method, path", [
    ("PROPFIND", "/ocr"), ("PATCH", "/jobs"), ("PUT", "/jobs/" + "A" * 22), ("TRACE", "/"), ("DELETE", "/ocr"),
    ("POST", "/healthz"), ("BREW", "/openapi.json"),
])
def test_unknown_methods_are_405_json_with_allow(live_service, method, path):
    response = requests.request(method, live_service.url(path), timeout=10)
    assert response.status_code == 405, response.text
    assert not problems(405, dict(response.headers), response.content)
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"]


def test_multipart_with_too_many_parts_is_413(live_service, text_png):
    parts = limits.MAX_FILES_PER_JOB + limits.MAX_FORM_FIELDS  # the live service runs the default settings
    fields = [("file", ("a.png", io.BytesIO(text_png)))] + [(f"field{i}", (None, "x")) for i in range(parts)]
    response = requests.post(live_service.url("/ocr"), files=fields, timeout=30)
    error = assert_json_error(response.status_code, dict(response.headers), response.content, 413,
                              "payload_too_large")
    assert "too many parts" in error["message"]


def test_large_files_pass_the_form_limits(live_service, receipt_jpeg):
    """The field limit must not catch files: werkzeug checks it on its parse buffer too."""
    big = receipt_jpeg + b"\0" * (3 * limits.MAX_FORM_FIELD_BYTES)  # trailing bytes after the JPEG's end
    files = [("file", ("a.jpg", io.BytesIO(big), "application/octet-stream")) for _ in range(2)]
    response = requests.post(live_service.url("/jobs"), files=files, data={"page_range": "0"}, timeout=30)
    assert response.status_code == 202, response.text
    requests.delete(live_service.url(response.json()["url"]), timeout=10)


def test_a_multipart_field_over_its_size_limit_is_413(live_service, text_png):
    response = requests.post(live_service.url("/ocr"), files={"file": ("a.png", io.BytesIO(text_png))},
                             data={"page_range": "0," * (limits.MAX_FORM_FIELD_BYTES // 2 + 1)}, timeout=30)
    assert_json_error(response.status_code, dict(response.headers), response.content, 413, "payload_too_large")


@pytest.mark.parametrize("body", [
    b"[" * 100_000,  # past the parser's own recursion bound: was a 500 before
    b'{"image": "aGVsbG8=", "x": ' + b"[" * 50 + b"]" * 50 + b"}",
    b'{"images": [[[[[[[[["aGVsbG8="]]]]]]]]]}',
])
def test_deeply_nested_json_is_400(live_service, body):
    response = requests.post(live_service.url("/jobs"), data=body, headers={"Content-Type": "application/json"},
                             timeout=30)
    error = assert_json_error(response.status_code, dict(response.headers), response.content, 400, "invalid_json")
    assert f"{limits.MAX_JSON_DEPTH} levels" in error["message"]


def test_every_kind_of_answer_carries_the_security_headers(live_service, text_png):
    """Successes, documents, errors of every layer, the UI and /openapi.json."""
    api = HttpClient(live_service.base_url)
    answers = {
        "openapi": api.get("/openapi.json"), "healthz": api.get("/healthz"), "readyz": api.get("/readyz"),
        "limits": api.get("/limits"), "models": api.get("/models"), "metrics": api.get("/metrics"),
        "ui": api.get("/"), "asset": api.get("/app.js"), "404": api.get("/nope"), "405": api.put("/ocr"),
        "400": api.post("/ocr", data=b"{", content_type="application/json"),
        "415": api.post("/ocr", data=b"x", content_type="image/png"),
        "job 404": api.get("/jobs/" + "A" * 22),
        "ocr text": api.post("/ocr", json={"image": b64(text_png), "output_format": "text"}),
        "ocr json": api.post("/ocr", json={"image": b64(text_png)}),
    }
    for name, answer in answers.items():
        found = problems(answer.status_code, dict(answer.headers), answer.get_data())
        assert not found, (name, found)
    assert answers["ocr text"].status_code == 200 and answers["openapi"].status_code == 200


def test_the_body_limit_answer_names_the_limit_and_carries_the_headers(live_service):
    limit = requests.get(live_service.url("/limits"), timeout=10).json()["max_body_bytes"]
    head = (f"POST /ocr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {limit + 1}\r\n"
            "Connection: close\r\n\r\n").encode()
    status, headers, body = raw_request(live_service.base_url, head + b"{" + b" " * 1000)
    error = assert_json_error(status, headers, body, 413, "payload_too_large")
    assert str(limit) in error["message"]
