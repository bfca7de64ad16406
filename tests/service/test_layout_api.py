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


def _odd_pages() -> dict[str, bytes]:
    """Pages the layout must answer sensibly: nothing on them, only a table, turned on its side,
    hundreds of tiny marks, and text printed over itself."""
    from PIL import Image, ImageDraw, ImageFont

    def png(image: Image.Image) -> bytes:
        import io

        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

    page = layoutpage.two_column_page().image
    tiny = Image.new("RGB", layoutpage.SIZE, "white")
    draw = ImageDraw.Draw(tiny)
    small = ImageFont.truetype(layoutpage.SERIF, 9)
    for k in range(500):
        draw.text((60 + (k % 25) * 45, 80 + (k // 25) * 80), "x1", font=small, fill="black")
    doubled = Image.new("RGB", layoutpage.SIZE, "white")
    draw = ImageDraw.Draw(doubled)
    body = ImageFont.truetype(layoutpage.SERIF, 22)
    for dx, dy in ((0, 0), (4, 9)):
        for row in range(6):
            draw.text((110 + dx, 200 + 40 * row + dy), "OVERLAP line printed over itself", font=body, fill="black")
    return {"blank": png(Image.new("RGB", layoutpage.SIZE, "white")),
            "only-a-table": png(page.crop((90, 1080, 1150, 1310))),
            "rotated": png(page.rotate(90, expand=True, fillcolor="white")),
            "tiny-marks": png(tiny), "overprinted": png(doubled)}


@pytest.mark.parametrize("name", ["blank", "only-a-table", "rotated", "tiny-marks", "overprinted"])
def test_odd_pages_get_a_sensible_answer_in_json_and_markdown(live_service, name):
    image = _odd_pages()[name]
    response = requests.post(live_service.base_url + "/ocr", files={"file": (f"{name}.png", image)},
                             data={"layout": "true"}, timeout=OCR_TIMEOUT)
    assert response.status_code == 200, response.text
    body = response.json()
    results, blocks = body["results"], body["layout"]["blocks"]
    placed = sorted(k for b in blocks for k in b["lines"])
    assert placed == list(range(len(results))), "every line is in exactly one block"
    if name == "blank":
        assert results == [] and blocks == []
    if name == "only-a-table":
        table = next(b["table"] for b in blocks if b["type"] == "table")
        assert (table["rows"], table["cols"]) == (4, 3)
    response = requests.post(live_service.base_url + "/ocr", files={"file": (f"{name}.png", image)},
                             data={"output_format": "markdown"}, timeout=OCR_TIMEOUT)
    assert response.status_code == 200, response.text
    if name == "only-a-table":
        assert "| Region | Units | Revenue |" in response.text
    if name == "rotated":
        assert any(code in response.text.upper() for code in CODES)
