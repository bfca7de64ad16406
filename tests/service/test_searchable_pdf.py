"""output_format=pdf over real HTTP: searchable PDFs from scans, receipts and text-layer PDFs,
sync and async, read back with pdftotext and pdfium against the same input's JSON; the
result URL, its headers and its 404s; several files; no result key left by a cancel or expiry.
"""
from __future__ import annotations

import io
import re
import shutil
import time
from urllib.parse import unquote

import pikepdf
import pytest
import requests
from PIL import Image, ImageOps

from ocrcore.formats import PageResult
from ocrcore.types import TextLine
from tests.core.pdfmaker import image_pdf, quarterly_report_pdf
from tests.core.searchcheck import check_extraction, contents_raw, page_text, three_page_scan
from tests.sroie import RECEIPT, SROIE

from .helpers import OCR_TIMEOUT, b64, wait_for

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")

RECEIPTS = [SROIE / "img" / "000.jpg", SROIE / "img" / "001.jpg"]


# ---------- inputs ----------

@pytest.fixture(scope="module")
def scanned_pdf() -> bytes:
    return three_page_scan()


@pytest.fixture(scope="module")
def cover_scan(make_text_image) -> Image.Image:
    return Image.open(io.BytesIO(make_text_image(["COVER SHEET 2024", "Searchable pages"], size=36)))


# ---------- helpers ----------

def post(base_url: str, path: str, files: list[tuple[str, bytes]], **fields) -> requests.Response:
    parts = [("file", (name, data, "application/octet-stream")) for name, data in files]
    data = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()}
    return requests.post(base_url + path, files=parts, data=data, timeout=OCR_TIMEOUT)


def submit(base_url: str, files: list[tuple[str, bytes]], **fields) -> dict:
    response = post(base_url, "/jobs", files, **fields)
    assert response.status_code == 202, response.text
    return response.json()


def assert_pdf_download(response: requests.Response, filename: str) -> bytes:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["Content-Type"] == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;"), disposition
    assert download_filename(disposition) == filename, disposition
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.content.startswith(b"%PDF-")
    return response.content


def download_filename(disposition: str) -> str:
    """The name a browser saves under: filename* (RFC 6266 says it wins) or else filename."""
    extended = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition)
    if extended:
        return unquote(extended.group(1))
    plain = re.search(r'filename="([^"]*)"', disposition)
    assert plain, disposition
    return plain.group(1)


def assert_not_found(response: requests.Response) -> dict:
    assert response.status_code == 404, response.text[:500]
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == "not_found" and body["error"]["message"].endswith(".")
    return body


def page_results(json_pages: list[dict]) -> list[PageResult]:
    """A /ocr JSON document's pages as the PageResults the PDF was written from."""
    return [
        PageResult(p["page"], p["width"], p["height"], p["source"],
                   [TextLine(r["text"], r["confidence"], r["bounding_box"]) for r in p["results"]])
        for p in json_pages
    ]


def image_page(number: int, path, results: list[dict]) -> PageResult:
    width, height = ImageOps.exif_transpose(Image.open(path)).size  # the frame the boxes are in
    return PageResult(number, width, height, "ocr",
                      [TextLine(r["text"], r["confidence"], r["bounding_box"]) for r in results])


def describe(figures: dict[str, list[float]]) -> str:
    iou = figures["iou"]
    return (f"F1 min {min(figures['f1']):.3f}, IoU min {min(iou):.2f} mean {sum(iou) / len(iou):.2f} "
            f"({len(iou)} line reads)")


def images_of(data: bytes) -> list[list[bytes]]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [[im.read_raw_bytes() for im in page.get_images().values()] for page in pdf.pages]


def job_keys(service, job_id: str) -> list[str]:
    """Every Redis key of a job but its done list (a wake-up notice with its own short TTL)."""
    return sorted(k.decode() for k in service.redis.keys(f"*{job_id}*") if b":done:" not in k)


# ---------- a scanned PDF ----------

def test_a_scanned_pdf_comes_back_searchable_sync_and_async(live_service, scanned_pdf):
    base = live_service.base_url
    as_json = post(base, "/ocr", [("scan.pdf", scanned_pdf)])
    assert as_json.status_code == 200, as_json.text
    pages = page_results(as_json.json()["pages"])
    assert [p.source for p in pages] == ["ocr"] * 3
    assert any("识别" in line.text for line in pages[1].lines), "the CJK page must be read as CJK"

    # Sync: the PDF itself, as an attachment named after the upload.
    sync = post(base, "/ocr", [("scan.pdf", scanned_pdf)], output_format="pdf")
    out = assert_pdf_download(sync, "scan.pdf")
    assert float(sync.headers["X-Processing-Time"]) > 0
    figures = check_extraction(out, pages, reported=True)
    print(f"\nscanned PDF, sync: {describe(figures)}; {len(scanned_pdf)} -> {len(out)} bytes "
          f"(+{(len(out) - len(scanned_pdf)) / len(scanned_pdf):.1%})")
    # No recompression: the layer costs a few KB per page, not a re-encoded scan.
    assert len(out) <= len(scanned_pdf) * 1.05 + 4096 * len(pages)
    assert images_of(out) == images_of(scanned_pdf), "every page keeps its scan, byte for byte"
    with pikepdf.open(io.BytesIO(scanned_pdf)) as before, pikepdf.open(io.BytesIO(out)) as after:
        assert [(repr(p.MediaBox), repr(p.obj.get("/Rotate"))) for p in before.pages] == \
            [(repr(p.MediaBox), repr(p.obj.get("/Rotate"))) for p in after.pages]

    # Async: the job's JSON says where the PDF is; the URL serves it.
    job = submit(base, [("scan.pdf", scanned_pdf)], output_format="pdf")
    body = wait_for(live_service.url(job["url"]))
    assert body["status"] == "succeeded", body
    result = body["result"]
    assert list(result) == ["processing_time", "output_format", "url", "filename", "bytes", "pages"]
    assert result["output_format"] == "pdf" and result["url"] == f"/jobs/{job['id']}/result"
    assert (result["filename"], result["pages"]) == ("scan.pdf", 3)
    download = assert_pdf_download(requests.get(live_service.url(result["url"]), timeout=30), "scan.pdf")
    assert len(download) == result["bytes"]
    assert requests.get(live_service.url(result["url"] + "/1"), timeout=30).content == download
    check_extraction(download, pages, reported=True)
    # Stored under its own key, kept as long as the job record.
    store = live_service.store
    redis = live_service.redis
    assert redis.llen(store.output_key(job["id"])) == 1
    assert abs(redis.ttl(store.output_key(job["id"])) - redis.ttl(store.job_key(job["id"]))) <= 1


# ---------- images ----------

def test_two_receipts_become_one_pdf_a_page_each_sync_and_async(live_service):
    base = live_service.base_url
    images = [(path.name, path.read_bytes()) for path in RECEIPTS]
    as_json = post(base, "/ocr", images)
    assert as_json.status_code == 200, as_json.text
    pages = [image_page(i, path, entry["result"]["results"])
             for i, (path, entry) in enumerate(zip(RECEIPTS, as_json.json()["files"], strict=True), start=1)]

    # Sync: one document for all the images, so /ocr answers the PDF, named after the first image.
    out = assert_pdf_download(post(base, "/ocr", images, output_format="pdf"), "000.pdf")
    figures = check_extraction(out, pages, reported=True)
    sent = sum(len(data) for _, data in images)
    print(f"\nreceipts, sync: {describe(figures)}; {sent} bytes of JPEG -> {len(out)} bytes of PDF")
    assert images_of(out) == [[data] for _, data in images], "one page per receipt, its JPEG untouched"
    assert len(out) <= sent * 1.05 + 4096 * len(images)

    # Async over JSON `images`: each file's result names the shared document and its page.
    response = requests.post(live_service.url("/jobs"), timeout=30,
                             json={"images": [b64(data) for _, data in images], "output_format": "pdf"})
    assert response.status_code == 202, response.text
    job = response.json()
    result = wait_for(live_service.url(job["url"]))["result"]
    assert set(result) == {"processing_time", "files"}
    first, second = result["files"]
    assert first["filename"] is None and first["error"] is None and second["error"] is None
    url = f"/jobs/{job['id']}/result"
    assert (first["result"]["url"], first["result"]["page"], second["result"]["url"], second["result"]["page"]) \
        == (url, 1, url, 2)
    assert first["result"]["filename"] == "document.pdf" and first["result"]["pages"] == 2
    download = assert_pdf_download(requests.get(live_service.url(url), timeout=30), "document.pdf")
    assert len(download) == first["result"]["bytes"]
    check_extraction(download, pages, reported=True)


# ---------- a PDF with a real text layer ----------

def test_a_text_layer_pdf_keeps_its_pages_and_only_the_scan_gets_a_layer(live_service, cover_scan):
    """Two pages with real text (never OCRed) and a scanned third page."""
    with pikepdf.open(io.BytesIO(quarterly_report_pdf())) as pdf, \
            pikepdf.open(io.BytesIO(image_pdf([cover_scan], resolution=200))) as scan:
        pdf.pages.append(scan.pages[0])
        buffer = io.BytesIO()
        pdf.save(buffer)
    source = buffer.getvalue()
    as_json = post(live_service.base_url, "/ocr", [("Quartalsbericht März.pdf", source)])
    pages = page_results(as_json.json()["pages"])
    assert [p.source for p in pages] == ["text_layer", "text_layer", "ocr"]

    response = post(live_service.base_url, "/ocr", [("Quartalsbericht März.pdf", source)], output_format="pdf")
    out = assert_pdf_download(response, "Quartalsbericht März.pdf")
    assert 'filename="Quartalsbericht Marz.pdf"' in response.headers["Content-Disposition"]  # the ASCII fallback
    with pikepdf.open(io.BytesIO(source)) as before, pikepdf.open(io.BytesIO(out)) as after:
        assert len(before.pages) == len(after.pages) == 3
        for index, (old, new) in enumerate(zip(before.pages, after.pages, strict=True)):
            for key in ("/MediaBox", "/CropBox", "/Rotate"):
                assert repr(old.obj.get(key)) == repr(new.obj.get(key))
            assert [im.read_raw_bytes() for im in old.get_images().values()] == \
                [im.read_raw_bytes() for im in new.get_images().values()]
            if index < 2:  # not OCRed: the same content streams, byte for byte, and the same resources
                assert contents_raw(old) == contents_raw(new)
                assert old.obj.Resources.unparse(resolved=True) == new.obj.Resources.unparse(resolved=True)
            else:
                assert contents_raw(old)[0] in contents_raw(new)  # its own content kept whole
                assert b"3 Tr" in new.obj.Contents[-1].read_bytes()  # then our invisible layer
    check_extraction(out, [pages[2]], reported=True)
    # The text-layer pages still read as they did.
    again = post(live_service.base_url, "/ocr", [("out.pdf", out)], page_range="0-1").json()
    assert [page_text(p) for p in page_results(again["pages"])] == [page_text(p) for p in pages[:2]]


# ---------- several files, several documents ----------

def test_each_pdf_gets_its_own_document_and_the_images_share_one(live_service, make_text_image):
    report = quarterly_report_pdf()
    hello = make_text_image(["HELLO WORLD"], size=40)
    invoice = make_text_image(["Invoice 12345"], size=40)
    files = [("hello.png", hello), ("report.pdf", report), ("invoice.png", invoice), ("报告.pdf", report)]
    response = post(live_service.base_url, "/ocr", files, output_format="pdf")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json", response.text
    entries = response.json()["files"]
    assert [e["error"] for e in entries] == [None] * 4
    results = [e["result"] for e in entries]
    urls = [r["url"] for r in results]
    job_id = re.fullmatch(r"/jobs/([\w-]+)/result/1", urls[0]).group(1)
    # The images' document takes the first image's place; each PDF has its own.
    assert urls == [f"/jobs/{job_id}/result/{n}" for n in (1, 2, 1, 3)]
    assert [r["filename"] for r in results] == ["hello.pdf", "report.pdf", "hello.pdf", "报告.pdf"]
    assert [r.get("page") for r in results] == [1, None, 2, None] and [r["pages"] for r in results] == [2, 2, 2, 2]

    images = assert_pdf_download(requests.get(live_service.url(urls[0]), timeout=30), "hello.pdf")
    assert [len(page) for page in images_of(images)] == [1, 1]
    text = pdfium_text(images)
    assert "HELLO WORLD" in text.upper() and "12345" in text
    for url, name in ((urls[1], "report.pdf"), (urls[3], "报告.pdf")):
        response = requests.get(live_service.url(url), timeout=30)
        document = assert_pdf_download(response, name)
        assert len(images_of(document)) == 2 and "Second page text" in pdfium_text(document)
    assert "filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf" in response.headers["Content-Disposition"]

    # Several documents: the bare result URL does not guess which one.
    message = assert_not_found(requests.get(live_service.url(f"/jobs/{job_id}/result"), timeout=30))
    assert "3 documents" in message["error"]["message"] and message["job_status"] == "succeeded"
    assert_not_found(requests.get(live_service.url(f"/jobs/{job_id}/result/4"), timeout=30))
    job = requests.get(live_service.url(f"/jobs/{job_id}"), timeout=30).json()
    assert [f["result"]["url"] for f in job["result"]["files"]] == urls


def pdfium_text(data: bytes) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()


# ---------- the result URL's refusals, cancel and expiry ----------

def test_the_result_url_answers_404_json_until_there_is_a_document(live_service, text_png):
    base = live_service.base_url
    assert_not_found(requests.get(base + "/jobs/AAAAAAAAAAAAAAAAAAAAAA/result", timeout=10))
    assert_not_found(requests.get(base + "/jobs/not-a-job/result", timeout=10))
    assert_not_found(requests.get(base + "/jobs/AAAAAAAAAAAAAAAAAAAAAA/result/x", timeout=10))
    # A json job has its result in its JSON.
    job = submit(base, [("hello.png", text_png)])
    wait_for(live_service.url(job["url"]))
    body = assert_not_found(requests.get(live_service.url(job["url"] + "/result"), timeout=10))
    assert body["job_status"] == "succeeded" and "output_format is json" in body["error"]["message"]
    # A pdf job before it succeeded: 404 saying its status.
    receipt = RECEIPT.read_bytes()
    job = submit(base, [("receipt.jpg", receipt), ("receipt2.jpg", receipt)], output_format="pdf")
    early = assert_not_found(requests.get(live_service.url(job["url"] + "/result"), timeout=10))
    assert early["job_status"] in ("queued", "running") and "no result yet" in early["error"]["message"]
    done = wait_for(live_service.url(job["url"]))
    assert requests.get(live_service.url(done["result"]["files"][0]["result"]["url"]), timeout=30).ok


def test_a_canceled_pdf_job_leaves_no_result_behind(live_service, cover_scan):
    receipt = Image.open(RECEIPT)
    pdf = image_pdf([cover_scan, receipt, receipt], resolution=200)
    job = submit(live_service.base_url, [("three.pdf", pdf)], output_format="pdf")
    deadline = time.monotonic() + OCR_TIMEOUT
    while True:  # cancel while the receipt pages are read
        body = requests.get(live_service.url(job["url"]), timeout=10).json()
        if body["status"] == "running" and body["progress"]["done"] >= 1:
            break
        assert body["status"] in ("queued", "running") and time.monotonic() < deadline, body
        time.sleep(0.02)
    assert requests.delete(live_service.url(job["url"]), timeout=10).status_code == 200
    # The page in hand is dropped when read, or (canceled between pages) the next one skipped.
    expected = re.compile(rf"job {job['id']} (stopped after page \d: it is canceled|part \d \(page \d\) skipped: "
                          "the job is canceled)")
    while not expected.search(live_service.log("worker")):
        assert time.monotonic() < deadline, "the worker never noticed the cancellation"
        time.sleep(0.1)
    store = live_service.store
    assert job_keys(live_service, job["id"]) == [store.job_key(job["id"])], "only the canceled record is left"
    body = assert_not_found(requests.get(live_service.url(job["url"] + "/result"), timeout=10))
    assert body["job_status"] == "canceled"


def test_the_document_expires_with_its_job(live_service, text_png):
    short = live_service.add_gateway("web-short-ttl", {"OCR_RESULT_TTL": "4"})
    job = submit(short, [("hello.png", text_png)], output_format="pdf")
    body = wait_for(short + job["url"])
    assert body["status"] == "succeeded", body
    store = live_service.store
    assert job_keys(live_service, job["id"]) == sorted([store.job_key(job["id"]), store.output_key(job["id"])])
    assert 0 < live_service.redis.ttl(store.output_key(job["id"])) <= 4
    assert_pdf_download(requests.get(short + body["result"]["url"], timeout=10), "hello.pdf")
    deadline = time.monotonic() + 10
    while job_keys(live_service, job["id"]):
        assert time.monotonic() < deadline, job_keys(live_service, job["id"])
        time.sleep(0.2)
    assert_not_found(requests.get(short + body["result"]["url"], timeout=10))
    assert_not_found(requests.get(short + job["url"], timeout=10))
