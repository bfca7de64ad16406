"""The layout over real HTTP: a rendered two-column page with a table (tests/core/layoutpage.py)
through POST /ocr and POST /jobs, in every format, with the block tree on request and page
furniture kept on request."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import requests

from tests.core import layoutpage

from .helpers import OCR_TIMEOUT, b64, submit, wait_for

CODES = ["ALPHA", "BRAVO", "CHARLIE", "DELTA"]


def code_order(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer("|".join(CODES), text.upper())]


@pytest.fixture(scope="module")
def page_png() -> bytes:
    return layoutpage.two_column_page().png()


def test_ocr_json_keeps_the_seed_shape_in_reading_order(live_service, page_png):
    response = requests.post(live_service.base_url + "/ocr", json={"image": b64(page_png)}, timeout=OCR_TIMEOUT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["processing_time", "results"]
    assert code_order(" ".join(r["text"] for r in body["results"])) == CODES
    assert all(list(r) == ["text", "confidence", "bounding_box"] for r in body["results"])


def test_ocr_json_with_layout_has_typed_blocks_pointing_at_the_results(live_service, page_png):
    response = requests.post(live_service.base_url + "/ocr", files={"file": ("page.png", page_png)},
                             data={"layout": "true"}, timeout=OCR_TIMEOUT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["processing_time", "results", "layout"]
    blocks = body["layout"]["blocks"]
    assert [b["type"] for b in blocks][:3] == ["header", "heading", "heading"]
    assert [b["level"] for b in blocks if b["type"] == "heading"] == [1, 2]
    table = next(b["table"] for b in blocks if b["type"] == "table")
    assert (table["rows"], table["cols"]) == (4, 3)
    assert [c["text"] for c in table["cells"] if c["row"] == 2] == ["South", "", "2150"]
    texts = [r["text"] for r in body["results"]]
    for block in blocks:
        assert block["lines"] and all(0 <= k < len(texts) for k in block["lines"])


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "hocr"])
def test_every_text_format_through_jobs_reads_the_columns_in_turn(live_service, page_png, fmt):
    job = wait_for(live_service.url(submit(live_service.base_url, page_png, output_format=fmt)["url"]))
    assert job["status"] == "succeeded", job
    content = job["result"]["content"]
    assert code_order(content) == CODES, content
    if fmt == "hocr":
        root = ET.fromstring(content.encode())
        assert any(el.get("class") == "ocr_table" for el in root.iter())
        assert any(el.get("class") == "ocr_footer" for el in root.iter())  # hOCR keeps the furniture, typed
    else:
        assert "Page 4" not in content and "Field Journal" not in content
    if fmt == "markdown":
        assert "| Region | Units | Revenue |" in content and "## 1 Introduction" in content


def test_furniture_is_kept_on_request(live_service, page_png):
    response = requests.post(live_service.base_url + "/ocr", files={"file": ("page.png", page_png)},
                             data={"output_format": "text", "keep_headers_footers": "true"}, timeout=OCR_TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.text.startswith("Field Journal of Layout") and response.text.rstrip().endswith("Page 4")


def test_layout_option_must_be_a_boolean(live_service, page_png):
    response = requests.post(live_service.base_url + "/ocr", json={"image": b64(page_png), "layout": "sometimes"},
                             timeout=30)
    assert response.status_code == 400 or response.status_code == 422, response.text
    assert "error" in response.json()
