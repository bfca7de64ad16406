"""The web UI with documents: several files at once, the progress bar, the pages view and a
text format, in headless Chromium against the live stack (nothing mocked)."""
from __future__ import annotations

import io

from PIL import Image

from tests.core.pdfmaker import Text, image_pdf, text_pdf
from tests.sroie import RECEIPT

from .helpers import OCR_TIMEOUT_MS, wait_for_state


def test_pdfs_progress_pages_view_and_markdown(ui, tmp_path, artifacts, make_text_image):
    page = ui
    report = tmp_path / "report.pdf"
    report.write_bytes(text_pdf([
        [Text("Quarterly Report", 72, 700, 20), Text("Revenue grew by 12 percent", 72, 650, 12)],
        [Text("Second page text", 100, 400, 14)],
    ]))
    cover = Image.open(io.BytesIO(make_text_image(["COVER SHEET 2024"], size=36)))
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(image_pdf([cover, Image.open(RECEIPT)], resolution=200))

    page.set_input_files("#file-input", [str(report), str(scan)])
    assert page.inner_text("#file-name") == "report.pdf, scan.pdf"
    assert page.inner_text("#file-meta").startswith("2 files (PDF)")
    page.click("#submit")

    # Four pages: the text layer's two are instant, the cover quick; the receipt takes seconds,
    # and meanwhile the bar stands at 3 of 4.
    page.wait_for_selector('#progress[role="progressbar"][aria-valuenow="75"]', timeout=OCR_TIMEOUT_MS)
    assert page.inner_text("#job-text") == "Recognizing text: 3 of 4 pages done."
    assert page.evaluate("document.getElementById('progress-bar').style.width") == "75%"
    wait_for_state(page, "succeeded")
    assert page.is_hidden("#progress")

    captions = page.locator("figure.page figcaption").all_inner_texts()
    assert captions == [
        "report.pdf · Page 1 · text layer", "report.pdf · Page 2 · text layer",
        "scan.pdf · Page 1 · OCR", "scan.pdf · Page 2 · OCR",
    ]
    assert page.locator(".page-heading").all_inner_texts() == [c.rsplit(" · ", 1)[0] for c in captions]
    texts = page.locator("li.line .line-text").all_inner_texts()
    assert texts[:3] == ["Quarterly Report", "Revenue grew by 12 percent", "Second page text"]
    joined = " ".join(texts).upper()
    # Spaces aside: where the recogniser puts a space on this small rendered page moves with
    # one pixel of the detected box, and the page is what this test is about, not spacing.
    assert "COVERSHEET2024" in joined.replace(" ", "") and "TAMAN DAYA" in joined and "JOHOR" in joined
    # Every line has its box on its own page, drawn in that page's pixel frame.
    assert page.locator("svg.overlay polygon.box").count() == len(texts)
    assert page.locator("svg.overlay").nth(0).get_attribute("viewBox") == "0 0 1700 2200"
    summary = page.inner_text("#summary")
    assert "2 files" in summary and "4 pages" in summary and f"{len(texts)} lines" in summary
    page.click('li.line[data-index="4"]')
    assert page.get_attribute("polygon.box.is-selected", "data-index") == "4"
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "ui-documents.png"), full_page=True)

    # One page of one PDF as paginated Markdown: the output itself, downloadable as .md.
    page.set_input_files("#file-input", str(report))
    page.select_option("#output-format", "markdown")
    page.check("#paginate")
    page.fill("#page-range", "2")
    page.click("#submit")
    wait_for_state(page, "succeeded")
    assert page.is_hidden("#results-body") and page.is_visible("#raw")
    assert page.inner_text("#raw-output").strip() == "{1}" + "-" * 48 + "\n\nSecond page text"
    assert page.inner_text("#download-txt") == "Download MD"
    with page.expect_download() as download_info:
        page.click("#download-txt")
    assert download_info.value.suggested_filename == "report.md"
    assert "Second page text" in download_info.value.path().read_text(encoding="utf-8")


def test_a_refused_pdf_reads_as_a_sentence(ui, tmp_path):
    page = ui
    locked = tmp_path / "broken.pdf"
    locked.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    page.set_input_files("#file-input", str(locked))
    page.click("#submit")
    page.wait_for_selector("#error:not([hidden])")
    message = page.inner_text("#error-text").strip()
    assert message == "The PDF is damaged or has no pages and cannot be read.", message
    assert page.is_enabled("#submit")
