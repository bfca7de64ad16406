"""The web UI end to end: headless Chromium -> gateway -> Redis -> Celery worker -> OCR core, nothing mocked."""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import requests

from tests.service.helpers import png_claiming
from tests.sroie import RECEIPT, SROIE, transcript_words

from .helpers import wait_for_state


def submit(page, path) -> None:
    page.set_input_files("#file-input", str(path))
    page.click("#submit")


def hand_over(page, path, how: str) -> None:
    """Give the page a file the way a user would without the picker: a clipboard paste or a drop."""
    page.evaluate(
        """([b64, name, how]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], name, { type: name.endsWith('.png') ? 'image/png' : 'image/jpeg' }));
            if (how === 'paste') {
                document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));
            } else {
                const zone = document.getElementById('dropzone');
                zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true }));
                zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true }));
            }
        }""",
        [base64.b64encode(Path(path).read_bytes()).decode(), Path(path).name, how],
    )


def line_texts(page) -> list[str]:
    return page.locator("li.line .line-text").all_inner_texts()


def test_receipt_result_view(ui, artifacts):
    page = ui
    csp = page.first_response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp, f"the page must be served under a strict CSP, got {csp!r}"

    submit(page, RECEIPT)
    wait_for_state(page, "succeeded")
    page.wait_for_selector("svg.overlay[viewBox]", state="attached")

    # Every result line is drawn exactly once, and the list and the boxes agree.
    texts = line_texts(page)
    polygons = page.locator("svg.overlay polygon.box")
    assert len(texts) > 10, texts
    assert polygons.count() == len(texts)
    assert page.inner_text("#line-count") == str(len(texts))

    # Known words from the receipt's ground truth appear in the list.
    expected = transcript_words(RECEIPT.stem)
    assert len(expected) >= 8, expected
    found_text = " ".join(texts).upper()
    missing = sorted(w for w in expected if w not in found_text)
    assert len(missing) <= len(expected) // 5, f"missing {missing} of {sorted(expected)} in {texts}"

    summary = page.inner_text("#summary")
    assert re.search(rf"\b{len(texts)} lines\b", summary) and re.search(r"processed in \d+\.\d+ s", summary), summary

    # The overlay uses the image's own pixel space, so boxes sit on their text at any zoom.
    def misalignment() -> float:
        return page.evaluate("""() => {
            const img = document.querySelector('.page-image');
            const svg = document.querySelector('svg.overlay');
            const [, , w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
            if (w !== img.naturalWidth || h !== img.naturalHeight) return Infinity;
            const ib = img.getBoundingClientRect();
            const scale = ib.width / img.naturalWidth;
            let worst = 0;
            for (const poly of document.querySelectorAll('polygon.box')) {
                const xs = Array.from(poly.points, (p) => p.x), ys = Array.from(poly.points, (p) => p.y);
                const r = poly.getBoundingClientRect();
                worst = Math.max(worst,
                    Math.abs(r.left - (ib.left + Math.min(...xs) * scale)),
                    Math.abs(r.top - (ib.top + Math.min(...ys) * scale)));
            }
            return worst;
        }""")

    assert misalignment() < 1.0
    page.click("#zoom-in")
    page.click("#zoom-in")
    assert page.inner_text("#zoom-level") != "Fit"
    assert misalignment() < 1.0
    page.click("#zoom-fit")
    assert misalignment() < 1.0

    # Hovering a line lights its box; clicking a box selects its line, and the other way round.
    page.hover('li.line[data-index="2"]')
    assert "is-hot" in page.get_attribute('polygon.box[data-index="2"]', "class")
    page.locator('polygon.box[data-index="4"]').dispatch_event("click")
    assert "is-selected" in page.get_attribute('li.line[data-index="4"]', "class")
    page.click('li.line[data-index="6"]')
    assert "is-selected" in page.get_attribute('polygon.box[data-index="6"]', "class")
    assert page.locator("polygon.box.is-selected").count() == 1

    # The downloads carry the same result the list shows.
    with page.expect_download() as download_info:
        page.click("#download-json")
    result = json.loads(download_info.value.path().read_text(encoding="utf-8"))
    assert [line["text"] for line in result["results"]] == [t if t != "(empty)" else "" for t in texts]
    with page.expect_download() as download_info:
        page.click("#download-txt")
    assert download_info.value.suggested_filename == "000.txt"
    assert download_info.value.path().read_text(encoding="utf-8").splitlines() == [line["text"] for line in result["results"]]

    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "ui-result.png"), full_page=True)


def test_bad_files_show_plain_sentences(ui, tmp_path):
    page = ui
    cases = {
        # Not an image at all, whatever its name claims.
        "notes.png": (b"these are just words, not pixels\n", r"not a supported image type"),
        # A small PNG whose header claims 9000x9000 pixels, over the gateway's pixel limit.
        "huge.png": (png_claiming(9_000, 9_000), r"^That image has too many pixels \(limit [\d.]+ megapixels\)\.$"),
    }
    for name, (data, pattern) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        if name == "notes.png":
            hand_over(page, path, "drop")
            page.click("#submit")
        else:
            submit(page, path)
        page.wait_for_selector("#error:not([hidden])")
        message = page.inner_text("#error-text").strip()
        assert re.search(pattern, message, re.I), message
        assert message.endswith(".") and "{" not in message and '"error"' not in message, message
        assert page.is_hidden("#job") and page.is_hidden("#results")
        assert page.is_enabled("#submit"), "a refused upload must leave the form usable"


def test_cancel_a_queued_job(ui, live_service):
    page = ui
    base = live_service.base_url.rstrip("/")
    # Keep the worker busy with the largest receipts so the UI's job waits in the queue.
    largest = sorted((SROIE / "img").glob("*.jpg"), key=lambda p: p.stat().st_size, reverse=True)[:6]
    fillers = []
    try:
        for path in largest:
            with path.open("rb") as fh:
                answer = requests.post(f"{base}/jobs", files={"file": (path.name, fh, "image/jpeg")}, timeout=30)
            assert answer.status_code == 202, answer.text
            fillers.append(answer.json()["id"])

        submit(page, RECEIPT)
        page.wait_for_selector('#job-badge[data-state="queued"], #job-badge[data-state="running"]')
        assert page.is_visible("#cancel")
        page.click("#cancel")
        wait_for_state(page, "canceled", timeout=30_000)
        assert "canceled" in page.inner_text("#job-text").lower()
        assert page.is_hidden("#cancel") and page.is_hidden("#results")
        assert page.is_enabled("#submit")
    finally:
        for job_id in fillers:
            requests.delete(f"{base}/jobs/{job_id}", timeout=10)


@pytest.mark.parametrize("ui", [{"width": 390, "height": 844}], indirect=True)
def test_phone_width_and_keyboard(ui):
    page = ui
    # Reach the file input from the top of the page by keyboard: skip link first, then the input.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "file-input"

    hand_over(page, SROIE / "img" / "001.jpg", "paste")
    assert page.inner_text("#file-name") == "001.jpg"
    page.focus("#submit")
    page.keyboard.press("Enter")
    wait_for_state(page, "succeeded")
    assert page.locator("svg.overlay polygon.box").count() == page.locator("li.line").count() > 0

    # Nothing wider than the phone: no sideways scrolling of the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # Arrow keys walk the list, and the selected line's box follows.
    page.focus('li.line[data-index="0"]')
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.index") == "3"
    assert page.get_attribute("polygon.box.is-selected", "data-index") == "3"
