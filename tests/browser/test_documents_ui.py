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
    # People count from 1: "2" is the second page (sent as the API's 0-based 1; unconverted, the
    # two-page PDF would have no page 2 and the job would be refused).
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


def test_page_numbers_in_the_form_count_from_one(ui, tmp_path):
    page = ui
    two = tmp_path / "two.pdf"
    two.write_bytes(text_pdf([[Text("First page", 72, 700, 14)], [Text("Second page", 72, 700, 14)]]))
    page.set_input_files("#file-input", str(two))
    page.fill("#page-range", "0")
    page.click("#submit")
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error-text").strip() == "Page numbers start at 1."
    # The third page of two: the server's 0-based refusal, said as people count.
    page.fill("#page-range", "1-3")
    page.click("#submit")
    page.locator("#error-text", has_text="2 pages").wait_for()
    assert page.inner_text("#error-text").strip() == "Those pages are not in the PDF: it has 2 pages (1-2)."
    # "1" is the first page (unconverted it would be the second).
    page.select_option("#output-format", "text")
    page.fill("#page-range", "1")
    page.click("#submit")
    wait_for_state(page, "succeeded")
    assert page.inner_text("#raw-output").strip() == "First page"


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


def test_searchable_pdf_is_a_download_never_text(ui, browser, tmp_path, artifacts, make_text_image):
    """Pick "Searchable PDF" for a receipt and a small scan: the job's result is one download
    link (all images make one PDF), the PDF carries the first file's name and our text, it
    opens in Chromium's PDF viewer, and nothing of it is shown as text."""
    import time

    import pypdfium2 as pdfium

    page = ui
    receipt = tmp_path / "receipt.jpg"
    receipt.write_bytes(RECEIPT.read_bytes())
    note = tmp_path / "hello note.png"
    note.write_bytes(make_text_image(["HELLO WORLD", "Invoice 12345"]))
    page.set_input_files("#file-input", [str(receipt), str(note)])
    page.select_option("#output-format", "pdf")
    page.click("#submit")
    wait_for_state(page, "succeeded")

    assert page.is_visible("#documents")
    assert page.is_hidden("#raw") and page.is_hidden("#results-body")
    assert page.is_hidden("#copy-text") and page.is_hidden("#download-txt")
    assert page.inner_text("#raw-output") == ""
    link = page.locator("#document-list a.document-link")
    assert link.count() == 1 and link.inner_text() == "Download receipt.pdf"
    meta = page.inner_text(".document-meta")
    assert meta.startswith("2 pages · ") and meta.endswith(" · from receipt.jpg, hello note.png"), meta
    assert page.inner_text("#job-text") == "Done: your searchable PDF is ready to download."
    page.screenshot(path=str(artifacts / "ui-searchable-pdf.png"), full_page=True)

    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "receipt.pdf"
    saved = tmp_path / "receipt.pdf"
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF-")
    document = pdfium.PdfDocument(data)
    try:
        texts = [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()
    assert len(texts) == 2 and "TAN WOON YANN" in texts[0].upper(), texts
    assert "HELLO WORLD" in texts[1].upper() and "12345" in texts[1], texts

    # Chromium's own viewer opens it (pdfium inside); select-all shows where the text layer lies.
    viewer = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        viewer.goto(saved.as_uri())
        deadline = time.monotonic() + 15
        while not any(f.url.endswith("/index.html") and f.url.startswith("chrome-extension://")
                      for f in viewer.frames):
            assert time.monotonic() < deadline, [f.url for f in viewer.frames]
            viewer.wait_for_timeout(200)  # (the sync API takes in the browser's events only in its own calls)
        viewer.wait_for_timeout(2000)  # the viewer draws the pages after its frame loads
        viewer.mouse.click(750, 400)  # the first click gives the viewer's plugin the focus
        viewer.wait_for_timeout(300)
        viewer.mouse.click(750, 400)
        viewer.keyboard.press("Control+a")
        viewer.wait_for_timeout(500)
        viewer.screenshot(path=str(artifacts / "pdf-viewer.png"))
    finally:
        viewer.close()

    # Back to JSON: the lines view returns and the PDF's panel is gone.
    page.set_input_files("#file-input", str(note))
    page.select_option("#output-format", "json")
    page.click("#submit")
    wait_for_state(page, "succeeded")
    assert page.is_hidden("#documents") and page.is_visible("#results-body") and page.is_visible("#copy-text")
