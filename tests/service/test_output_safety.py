"""Images that read as HTML, Markdown and entities (tests/xss.py), rendered with DejaVu and
OCRed for real by the live service: the recogniser reads them exactly, and every output format
keeps them inert, as a POST /ocr document and as a job result. File names never reach a header.
"""
from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest
import requests

from tests.conftest import render_text_image
from tests.xss import PAYLOADS, inert_html_problems, markdown_problems

from .helpers import b64, submit, wait_for

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


@pytest.fixture(scope="module")
def payload_image() -> bytes:
    return render_text_image(PAYLOADS, size=56)  # at 56 px DejaVu the recogniser reads every character


def ocr(live_service, image: bytes, output_format: str) -> requests.Response:
    response = requests.post(live_service.url("/ocr"), json={"image": b64(image), "output_format": output_format},
                             timeout=120)
    assert response.status_code == 200, response.text
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    return response


def test_the_recogniser_reads_the_payloads_exactly(live_service, payload_image):
    response = ocr(live_service, payload_image, "json")
    assert response.headers["Content-Type"] == "application/json"
    assert [line["text"] for line in response.json()["results"]] == PAYLOADS


def test_text_is_plain_text(live_service, payload_image):
    response = ocr(live_service, payload_image, "text")
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.splitlines() == PAYLOADS


def test_html_is_inert(live_service, payload_image):
    response = ocr(live_service, payload_image, "html")
    problems, lines = inert_html_problems(response.text)
    assert not problems, problems
    assert lines == PAYLOADS


def test_hocr_is_inert_xhtml(live_service, payload_image):
    response = ocr(live_service, payload_image, "hocr")
    assert response.headers["Content-Type"].startswith("application/xhtml+xml")
    problems, lines = inert_html_problems(response.text)
    assert not problems, problems
    assert [" ".join(line.split()) for line in lines] == PAYLOADS
    ET.fromstring(response.content)  # well-formed: a browser's XML parser would not choke either


def test_markdown_renders_literally(live_service, payload_image):
    response = ocr(live_service, payload_image, "markdown")
    problems, visible = markdown_problems(response.text)
    assert not problems, (response.text, problems)
    # Evenly spaced lines are one paragraph, which markdown gives as one line: the same text.
    assert " ".join(visible.split()) == " ".join(" ".join(PAYLOADS).split())


def test_job_results_carry_the_documents_as_json_strings(live_service, payload_image):
    job = submit(live_service.base_url, payload_image, output_format="html")
    final = wait_for(live_service.url(job["url"]))
    response = requests.get(live_service.url(job["url"]), timeout=10)
    assert response.headers["Content-Type"] == "application/json"
    problems, lines = inert_html_problems(final["result"]["content"])
    assert not problems and lines == PAYLOADS
    assert "<img" not in response.text.split('"content"')[0]  # nothing outside the JSON string


@pytest.mark.parametrize("filename", [
    '../../etc/passwd',
    'a"; filename*=UTF-8\'\'evil.html',
    "line\r\nX-Injected: 1",
    "<img src=x onerror=alert(1)>.png",
    "C:\\Windows\\system32\\x.png",
])
def test_multipart_file_names_stay_labels(live_service, text_png, filename):
    """The client's file name is a label in the result only: no path is built from it, it never
    reaches a header, and it comes back as a JSON string without directories or control characters."""
    files = [("file", (filename, io.BytesIO(text_png), "image/png")), ("file", ("b.png", io.BytesIO(text_png)))]
    response = requests.post(live_service.url("/ocr"), files=files, timeout=120)
    assert response.status_code == 200, response.text
    assert not any("Injected" in name or "Injected" in value for name, value in response.headers.items())
    label = response.json()["files"][0]["filename"]
    assert "/" not in label and "\\" not in label and "\r" not in label and "\n" not in label
    assert json.loads(json.dumps(label)) == label
