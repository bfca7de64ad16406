"""Documents over real HTTP: PDFs (text layer, scanned, multi-page), output formats, page_range,
the page cap, bad PDFs, several files per job, progress, cancellation and the page time limit.

Every PDF is made here (tests/core/pdfmaker.py): text layers with PDFium, scans with Pillow
from a real SROIE receipt, hostile shapes by hand. Text-layer pages cost no OCR, so most
checks use them; only the scanned pages run the models.
"""
from __future__ import annotations

import io
import re
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
import requests
from PIL import Image

from ocrcore.document import MAX_PAGE_IMAGE_PIXELS
from tests.core.pdfmaker import (
    Text,
    blank_pdf,
    encrypted_pdf,
    image_pdf,
    image_xobject_pdf,
    quarterly_report_pdf,
    text_pdf,
)
from tests.sroie import RECEIPT, transcript_words

from .helpers import OCR_TIMEOUT, b64, wait_for

LETTER_PX = (1700, 2200)  # US Letter at the default 200 DPI
XHTML = "{http://www.w3.org/1999/xhtml}"
MARKER = re.compile(r"^\{(\d+)\}-{48}$", re.M)  # Marker's page separator line
WORDS = ["alpha", "bravo", "charlie", "delta", "echo"]  # one per page of the five-page PDF


# ---------- the documents ----------

@pytest.fixture(scope="module")
def report_pdf() -> bytes:
    """Two text-layer pages: a heading, a paragraph of two lines, then a short second page."""
    return quarterly_report_pdf()


@pytest.fixture(scope="module")
def five_page_pdf() -> bytes:
    """Five text-layer pages, each naming its own word: 'Page 3 says charlie'."""
    return text_pdf([[Text(f"Page {n} says {word}", 72, 700, 14)] for n, word in enumerate(WORDS, start=1)])


@pytest.fixture(scope="module")
def receipt_words() -> set[str]:
    """Distinctive words (6+ letters) from the receipt's own transcripts."""
    words = transcript_words(RECEIPT.stem)
    assert len(words) >= 8, words
    return words


@pytest.fixture(scope="module")
def cover_image(make_text_image) -> Image.Image:
    return Image.open(io.BytesIO(make_text_image(["COVER SHEET 2024"], size=36)))


@pytest.fixture(scope="module")
def scanned_pdf(cover_image) -> bytes:
    """Scanned only, no text layer: a small cover page, then the receipt (about 4 s of OCR)."""
    return image_pdf([cover_image, Image.open(RECEIPT)], resolution=200)


def bomb_pdf() -> bytes:
    """One page drawing an image that claims more pixels than a page may decode: the gateway
    only opens it, so it reaches the worker, which must refuse it without decoding."""
    side = int((MAX_PAGE_IMAGE_PIXELS * 1.1) ** 0.5)
    return image_xobject_pdf(side, side)


# ---------- helpers ----------

def post_ocr(base_url: str, files: list[tuple[str, bytes]], **fields) -> requests.Response:
    """POST /ocr as multipart: each (name, bytes) a `file` field; fields as form values."""
    parts = [("file", (name, data, "application/octet-stream")) for name, data in files]
    data = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()}
    return requests.post(base_url + "/ocr", files=parts, data=data, timeout=OCR_TIMEOUT)


def submit_files(base_url: str, files: list[tuple[str, bytes]], **fields) -> dict:
    parts = [("file", (name, data, "application/octet-stream")) for name, data in files]
    data = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()}
    response = requests.post(base_url + "/jobs", files=parts, data=data, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()


def assert_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert message.endswith(".") and "Traceback" not in message
    return message


def assert_document(body: dict) -> list[dict]:
    """The document shape: {"processing_time", "pages": [{"page", "width", "height", "source", "results"}]}."""
    assert set(body) == {"processing_time", "pages"}, body
    assert isinstance(body["processing_time"], (int, float))
    for page in body["pages"]:
        assert set(page) == {"page", "width", "height", "source", "results"}, page
        assert page["source"] in ("ocr", "text_layer")
        for line in page["results"]:
            assert set(line) == {"text", "confidence", "bounding_box"}
            xs = [p[0] for p in line["bounding_box"]]
            ys = [p[1] for p in line["bounding_box"]]
            assert 0 <= min(xs) <= max(xs) <= page["width"] and 0 <= min(ys) <= max(ys) <= page["height"], line
    return body["pages"]


def page_text(page: dict) -> str:
    return "\n".join(line["text"] for line in page["results"])


def marker_ids(document: str) -> list[int]:
    return [int(n) for n in MARKER.findall(document)]


class LineSpans(HTMLParser):
    """<section class="page"> numbers and <span class="line" data-bbox> boxes and texts."""

    def __init__(self):
        super().__init__()
        self.sections: list[int] = []
        self.lines: list[tuple[list[int], str]] = []
        self._box: list[int] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and a.get("class") == "page":
            self.sections.append(int(a["data-page-number"]))
        if tag == "span" and a.get("class") == "line":
            self._box = [int(v) for v in a["data-bbox"].split()]
            self.lines.append((self._box, ""))

    def handle_data(self, data):
        if self._box is not None:
            box, text = self.lines[-1]
            self.lines[-1] = (box, text + data)

    def handle_endtag(self, tag):
        if tag == "span":
            self._box = None


def hocr_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if e.get("class") == name]


# ---------- PDFs and their sources ----------

def test_text_layer_pdf_is_read_without_ocr(live_service, report_pdf):
    response = post_ocr(live_service.base_url, [("report.pdf", report_pdf)])
    assert response.status_code == 200, response.text
    pages = assert_document(response.json())
    assert [(p["page"], p["source"], (p["width"], p["height"])) for p in pages] == [
        (1, "text_layer", LETTER_PX), (2, "text_layer", LETTER_PX),
    ]
    assert page_text(pages[0]) == "Quarterly Report\nRevenue grew by 12 percent\nCosts stayed flat"
    assert page_text(pages[1]) == "Second page text"
    assert all(line["confidence"] == 1.0 for page in pages for line in page["results"])
    # 72 pt from the left at 200 DPI is x = 200 px; the heading's baseline is 92 pt from the top.
    (x0, y0), _, (x1, y1), _ = pages[0]["results"][0]["bounding_box"]
    assert abs(x0 - 200) <= 3 and y0 < 92 * 200 / 72 < y1


def test_force_ocr_renders_and_reads_the_same_page(live_service, report_pdf):
    layer = assert_document(post_ocr(live_service.base_url, [("r.pdf", report_pdf)], page_range="0").json())
    response = post_ocr(live_service.base_url, [("r.pdf", report_pdf)], force_ocr=True, page_range="0")
    assert response.status_code == 200, response.text
    (page,) = assert_document(response.json())
    assert page["source"] == "ocr" and (page["width"], page["height"]) == LETTER_PX
    text = page_text(page).upper()
    assert "QUARTERLY REPORT" in text and "REVENUE GREW BY 12 PERCENT" in text, text
    # OCR finds the heading where the text layer puts it: both use the same pixel frame.
    ocr_box, layer_box = page["results"][0]["bounding_box"], layer[0]["results"][0]["bounding_box"]
    assert abs(ocr_box[0][0] - layer_box[0][0]) < 20 and abs(ocr_box[2][1] - layer_box[2][1]) < 20


def test_scanned_pdf_is_ocred_and_reports_progress_per_page(live_service, scanned_pdf, receipt_words):
    job = submit_files(live_service.base_url, [("scan.pdf", scanned_pdf)])
    seen = []
    deadline = time.monotonic() + OCR_TIMEOUT
    while True:
        body = requests.get(live_service.url(job["url"]), timeout=10).json()
        seen.append((body["status"], body["progress"]["done"], body["progress"]["total"]))
        if body["status"] in ("succeeded", "failed", "canceled") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert body["status"] == "succeeded", body
    assert body["progress"] == {"done": 2, "total": 2}
    # The cover page is done long before the receipt: the job showed 1 of 2 while running.
    assert ("running", 1, 2) in seen, seen
    cover, receipt = assert_document(body["result"])
    assert (cover["page"], cover["source"], receipt["page"], receipt["source"]) == (1, "ocr", 2, "ocr")
    # Spaces aside: on this small rendered page the recogniser's space moves with one pixel
    # of the detected box; this test is about pages and progress, not spacing.
    assert "COVERSHEET2024" in page_text(cover).upper().replace(" ", "")
    assert (receipt["width"], receipt["height"]) == Image.open(RECEIPT).size  # a 200 DPI scan, at 200 DPI
    found = page_text(receipt).upper()
    missing = sorted(w for w in receipt_words if w not in found)
    assert len(missing) <= len(receipt_words) // 5, f"missing {missing} in {found}"


# ---------- output formats ----------

def test_page_range_in_every_output_format(live_service, five_page_pdf):
    base, pdf = live_service.base_url, [("five.pdf", five_page_pdf)]
    picked = {2: "bravo", 3: "charlie", 5: "echo"}

    pages = assert_document(post_ocr(base, pdf, page_range="1-2,4").json())
    assert [(p["page"], p["source"]) for p in pages] == [(n, "text_layer") for n in picked]
    assert [page_text(p) for p in pages] == [f"Page {n} says {w}" for n, w in picked.items()]

    text = post_ocr(base, pdf, page_range="1-2,4", output_format="text")
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.text == "Page 2 says bravo\n\nPage 3 says charlie\n\nPage 5 says echo\n"  # blocks, blank lines between
    assert float(text.headers["X-Processing-Time"]) >= 0

    paginated = post_ocr(base, pdf, page_range="1-2,4", output_format="text", paginate_output=True).text
    assert marker_ids(paginated) == [1, 2, 4]  # Marker's 0-based page ids, one before each page
    assert [body.strip() for body in MARKER.split(paginated)[2::2]] == [f"Page {n} says {w}" for n, w in picked.items()]

    markdown = post_ocr(base, pdf, page_range="1-2,4", output_format="markdown", paginate_output=True)
    assert markdown.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert marker_ids(markdown.text) == [1, 2, 4] and "Page 5 says echo" in markdown.text
    unpaginated = post_ocr(base, pdf, page_range="1-2,4", output_format="markdown").text
    assert marker_ids(unpaginated) == [] and unpaginated == "Page 2 says bravo\n\nPage 3 says charlie\n\nPage 5 says echo\n"

    html = post_ocr(base, pdf, page_range="1-2,4", output_format="html", paginate_output=True)
    assert html.headers["Content-Type"] == "text/html; charset=utf-8"
    parser = LineSpans()
    parser.feed(html.text)
    assert parser.sections == [2, 3, 5]
    assert [t for _, t in parser.lines] == [f"Page {n} says {w}" for n, w in picked.items()]
    for (x0, y0, x1, y1), _ in parser.lines:
        assert 0 <= x0 < x1 <= LETTER_PX[0] and 0 <= y0 < y1 <= LETTER_PX[1]

    hocr = post_ocr(base, pdf, page_range="1-2,4", output_format="hocr")
    assert hocr.headers["Content-Type"] == "application/xhtml+xml; charset=utf-8"
    root = ET.fromstring(hocr.content)  # well-formed XML, as hOCR tools expect
    assert root.tag == f"{XHTML}html"
    ocr_pages = hocr_class(root, "ocr_page")
    assert [re.search(r"ppageno (\d+)", p.get("title")).group(1) for p in ocr_pages] == ["1", "2", "4"]
    assert all(p.get("title").startswith(f"bbox 0 0 {LETTER_PX[0]} {LETTER_PX[1]}") for p in ocr_pages)
    assert " ".join(w.text for w in hocr_class(root, "ocrx_word")) == \
        "Page 2 says bravo Page 3 says charlie Page 5 says echo"

    # A job keeps its JSON envelope: the same document under `content`.
    job = submit_files(base, pdf, page_range="1-2,4", output_format="markdown")
    result = wait_for(live_service.url(job["url"]))["result"]
    assert set(result) == {"processing_time", "output_format", "content"}
    assert result["output_format"] == "markdown" and result["content"] == unpaginated


def test_an_image_in_a_text_format_and_in_json(live_service, text_png):
    text = post_ocr(live_service.base_url, [("hello.png", text_png)], output_format="text")
    assert text.status_code == 200 and text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "HELLO WORLD" in text.text.upper() and "12345" in text.text
    hocr = post_ocr(live_service.base_url, [("hello.png", text_png)], output_format="hocr")
    (page,) = hocr_class(ET.fromstring(hocr.content), "ocr_page")
    width, height = Image.open(io.BytesIO(text_png)).size
    assert page.get("title").startswith(f"bbox 0 0 {width} {height}")
    # json for an image stays exactly the original shape, whatever the document fields say.
    body = post_ocr(live_service.base_url, [("hello.png", text_png)], output_format="json", force_ocr=True,
                    paginate_output=True, page_range="0").json()
    assert set(body) == {"processing_time", "results"} and "HELLO" in " ".join(r["text"] for r in body["results"])


# ---------- limits and refusals ----------

def test_page_cap_counts_the_selected_pages(live_service, five_page_pdf, report_pdf):
    capped = live_service.add_gateway("web-page-cap", {"OCR_MAX_PDF_PAGES": "3"})
    message = assert_error(post_ocr(capped, [("five.pdf", five_page_pdf)]), 413, "too_many_pages")
    assert "5 pages selected; the limit is 3" in message and "page_range" in message
    pages = assert_document(post_ocr(capped, [("five.pdf", five_page_pdf)], page_range="2-4").json())
    assert [p["page"] for p in pages] == [3, 4, 5]
    # Over all the files of a job: 2 + 2 pages is over 3.
    message = assert_error(post_ocr(capped, [("a.pdf", report_pdf), ("b.pdf", report_pdf)]), 413, "too_many_pages")
    assert "4 pages in all" in message


def test_bad_pdfs_are_refused_with_clear_errors(live_service, report_pdf, text_png):
    base = live_service.base_url
    message = assert_error(post_ocr(base, [("locked.pdf", encrypted_pdf())]), 422, "pdf_encrypted")
    assert "password" in message
    assert_error(requests.post(base + "/jobs", json={"image": b64(encrypted_pdf())}, timeout=30), 422,
                 "pdf_encrypted")
    for broken in (report_pdf[:40], b"%PDF-1.7\n" + bytes(range(256)) * 64, blank_pdf(0)):
        assert_error(post_ocr(base, [("broken.pdf", broken)]), 422, "invalid_pdf")
    message = assert_error(post_ocr(base, [("r.pdf", report_pdf)], page_range="2"), 400, "invalid_page_range")
    assert "the document has 2 pages, pages 0-1 (0-based)" in message
    assert_error(post_ocr(base, [("r.pdf", report_pdf)], page_range="1-0"), 400, "invalid_page_range")
    assert_error(post_ocr(base, [("r.pdf", report_pdf)], page_range="one"), 400, "invalid_page_range")
    assert_error(post_ocr(base, [("r.pdf", report_pdf)], output_format="docx"), 400, "invalid_field")

    # Hostile pages pass the gateway (it never renders) and are refused by the worker.
    message = assert_error(post_ocr(base, [("bomb.pdf", bomb_pdf())]), 413, "page_too_large")
    assert "page 1" in message.lower()
    huge = blank_pdf(1, (0, 0, 14400, 14400))  # 200 x 200 inches
    assert_error(post_ocr(base, [("huge.pdf", huge)]), 413, "page_too_large")
    # The worker is fine afterwards.
    assert post_ocr(base, [("hello.png", text_png)]).status_code == 200


def test_several_files_in_one_job_each_with_its_own_result(live_service, report_pdf, text_png):
    job = submit_files(live_service.base_url,
                       [("report.pdf", report_pdf), ("hello.png", text_png), ("bomb.pdf", bomb_pdf())])
    body = wait_for(live_service.url(job["url"]))
    assert body["status"] == "succeeded", body
    assert body["progress"] == {"done": 4, "total": 4}  # 2 pages + 1 image + 1 page
    result = body["result"]
    assert set(result) == {"processing_time", "files"}
    report, hello, bomb = result["files"]
    assert [f["filename"] for f in result["files"]] == ["report.pdf", "hello.png", "bomb.pdf"]
    assert report["error"] is None and [p["source"] for p in assert_document(report["result"])] == ["text_layer"] * 2
    assert hello["error"] is None and set(hello["result"]) == {"processing_time", "results"}
    assert "HELLO WORLD" in " ".join(r["text"] for r in hello["result"]["results"]).upper()
    assert bomb["result"] is None and bomb["error"]["code"] == "page_too_large"

    # JSON `images`, a text format: each file's result is what it would be alone.
    response = requests.post(live_service.url("/ocr"), json={"images": [b64(text_png), b64(report_pdf)],
                             "output_format": "text"}, timeout=OCR_TIMEOUT)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    first, second = response.json()["files"]
    assert first["filename"] is None and "HELLO WORLD" in first["result"]["content"].upper()
    assert second["result"]["content"] == "Quarterly Report\n\nRevenue grew by 12 percent\nCosts stayed flat\n\n" \
        "Second page text\n"

    too_many = requests.post(live_service.url("/jobs"), json={"images": [b64(text_png)] * 11}, timeout=30)
    assert "limit is 10" in assert_error(too_many, 400, "too_many_files")
    bad_second = post_ocr(live_service.base_url, [("ok.png", text_png), ("locked.pdf", encrypted_pdf())])
    assert assert_error(bad_second, 422, "pdf_encrypted").startswith("File 2 (locked.pdf): ")


def test_cancel_stops_between_pages(live_service, cover_image):
    receipt = Image.open(RECEIPT)
    pdf = image_pdf([cover_image, receipt, receipt], resolution=200)
    job = submit_files(live_service.base_url, [("three.pdf", pdf)])
    deadline = time.monotonic() + OCR_TIMEOUT
    while True:  # cancel while the first receipt page is being read (the cover takes a moment)
        body = requests.get(live_service.url(job["url"]), timeout=10).json()
        if body["status"] == "running" and body["progress"]["done"] >= 1:
            break
        assert body["status"] in ("queued", "running") and time.monotonic() < deadline, body
        time.sleep(0.02)
    assert body["progress"]["done"] == 1, body
    assert requests.delete(live_service.url(job["url"]), timeout=10).status_code == 200
    # The job runs as page tasks (three pages): the worker drops the page in hand when it is read
    # (or, canceled between two pages, skips the next), and the third page is never queued (one
    # child: a window of one page).
    expected = re.compile(rf"job {job['id']} (stopped after page \d: it is canceled|part \d \(page \d\) skipped: "
                          "the job is canceled)")
    deadline = time.monotonic() + OCR_TIMEOUT
    while not expected.search(live_service.log("worker")):
        assert time.monotonic() < deadline, "the worker never noticed the cancellation"
        time.sleep(0.1)
    assert wait_for(live_service.url(job["url"]))["status"] == "canceled"
    time.sleep(1)
    assert f"job {job['id']} part 3/3" not in live_service.log("worker"), "the third page was read"


def test_page_time_limit_fails_the_job_and_the_worker_goes_on(live_service, report_pdf):
    """A worker whose pages may take 1 s, on a queue and key prefix of its own (so the shared
    worker never takes these jobs): the receipt page takes longer, and is stopped."""
    env = {"OCR_WORKER_CHILDREN": "1", "OCR_QUEUE_NAME": "strict", "OCR_KEY_PREFIX": "strict"}
    live_service.processes.start_worker(name="worker-strict", env={**env, "OCR_PAGE_TIME_LIMIT": "1"})
    try:
        base = live_service.add_gateway("web-strict", env)
        live_service.processes.wait_ready(base, timeout=120)
        # Three receipts side by side on one page: about 2.5x a receipt's work, well past 1 s
        # (one receipt alone took 0.94 s once detection got faster).
        receipt = Image.open(RECEIPT).convert("RGB")
        page = Image.new("RGB", (receipt.width * 3, receipt.height), "white")
        for i in range(3):
            page.paste(receipt, (i * receipt.width, 0))
        scan = image_pdf([page], resolution=200)
        started = time.monotonic()
        response = post_ocr(base, [("scan.pdf", scan)])
        assert response.status_code == 504, response.text
        error = response.json()["error"]
        assert error["code"] == "time_limit" and "Page 1 took longer than the 1 s page time limit" in error["message"]
        assert time.monotonic() - started < 30
        # The same child takes the next job.
        assert post_ocr(base, [("r.pdf", report_pdf)]).status_code == 200
    finally:
        live_service.processes.stop("worker-strict")
