"""The picture on README.md: the web UI in headless Chromium with a real scanned receipt read by
the live stack, its line boxes drawn on the page and the recognised text beside it.

Every run writes artifacts/web-ui.png and checks what it shows (boxes drawn, one per listed line,
on the image, text in the list). With UPDATE_SCREENSHOT=1 it also writes docs/img/web-ui.png,
the committed picture:

    UPDATE_SCREENSHOT=1 .venv/bin/python -m pytest tests/browser/test_screenshot.py
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from tests.sroie import RECEIPT

from .conftest import REPO
from .helpers import wait_for_state

COMMITTED = REPO / "docs" / "img" / "web-ui.png"
VIEWPORT = {"width": 1100, "height": 900}


@pytest.mark.parametrize("ui", [VIEWPORT], indirect=True)
def test_the_readme_picture_shows_boxes_on_the_page_and_the_text_beside_it(ui, artifacts):
    page = ui
    page.set_input_files("#file-input", str(RECEIPT))
    page.click("#submit")
    wait_for_state(page, "succeeded")
    page.wait_for_selector("svg.overlay polygon.box", state="attached")

    texts = page.locator("li.line .line-text").all_inner_texts()
    boxes = page.locator("svg.overlay polygon.box")
    assert len(texts) > 10 and boxes.count() == len(texts)
    page.hover('li.line[data-index="3"]')  # one line lit, as a user pointing at it sees it
    shot = artifacts / "web-ui.png"
    results = page.locator("#results")
    results.scroll_into_view_if_needed()
    results.screenshot(path=str(shot))  # the result card: the page with its boxes, the lines beside it

    # The boxes are on the image, and the list is beside it (to its right), both in view.
    image = page.locator(".page-image").bounding_box()
    first_box = boxes.first.bounding_box()
    first_line = page.locator("li.line").first.bounding_box()
    assert image and first_box and first_line
    assert image["x"] <= first_box["x"] <= image["x"] + image["width"]
    assert image["y"] <= first_box["y"] <= image["y"] + image["height"]
    assert first_line["x"] >= image["x"] + image["width"] * 0.5, "the text list is not beside the page"
    card = results.bounding_box()
    assert card and card["y"] <= first_line["y"] < card["y"] + card["height"], "the text list is not in the picture"
    assert any("TAN WOON YANN" in t.upper() for t in texts), texts[:5]

    with Image.open(shot) as picture:
        assert abs(picture.width - card["width"]) <= 2 and abs(picture.height - card["height"]) <= 2, picture.size
        colours = len(picture.convert("RGB").resize((320, 190)).getcolors(320 * 190) or [])
        assert colours > 500, "the screenshot is nearly blank"
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        COMMITTED.parent.mkdir(parents=True, exist_ok=True)
        COMMITTED.write_bytes(Path(shot).read_bytes())
    assert COMMITTED.exists(), "run with UPDATE_SCREENSHOT=1 to write docs/img/web-ui.png"
