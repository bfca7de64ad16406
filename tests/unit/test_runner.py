"""JobRunner with injected I/O: the files come from `load`, progress and cancellation go
through `report`, and the engine is a stand-in that names what it was given (the real
engine is exercised in tests/core and end to end in tests/service)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from jobs.errors import ErrorCode
from jobs.model import FileMeta, JobOptions, Status
from jobs.settings import Settings
from ocrcore import ImageDecodeError, OcrOptions, OcrResult, TextLine
from tests.core.pdfmaker import Text, image_pdf, text_pdf
from worker.processing import FileError, JobRunner, JobStopped

BOX = [[0, 0], [10, 0], [10, 5], [0, 5]]


class NamingEngine:
    """Answers one line per call: 'image' for bytes, 'page WxH' for a rendered page."""

    def __init__(self):
        self.calls: list[OcrOptions] = []

    def run(self, image, options: OcrOptions) -> OcrResult:
        self.calls.append(options)
        if isinstance(image, bytes):
            if image == b"bad":
                raise ImageDecodeError("not an image")
            text, (h, w) = "image", (20, 30)
        else:
            assert isinstance(image, np.ndarray) and image.ndim == 3
            h, w = image.shape[:2]
            text = f"page {w}x{h}"
        return OcrResult([TextLine(text, 0.9, BOX)], 0.01, w, h, options.model or "m", {"det": 0.01, "rec": 0.02})


class Recorder:
    """The job store's side: records progress, answers a status (cancel after `cancel_at` pages)."""

    def __init__(self, cancel_at: int | None = None):
        self.reports: list[int] = []
        self.cancel_at = cancel_at

    def __call__(self, done: int) -> Status | None:
        self.reports.append(done)
        return Status.CANCELED if self.cancel_at is not None and done >= self.cancel_at else Status.RUNNING


def runner(files: list[tuple[FileMeta, bytes | None]], options: JobOptions | None = None,
           report: Recorder | None = None) -> tuple[JobRunner, NamingEngine, Recorder]:
    engine, report = NamingEngine(), report or Recorder()
    blobs = [data for _, data in files]
    job = JobRunner(engine, Settings(pdf_dpi=72), [meta for meta, _ in files], options or JobOptions(),
                    load=lambda i: blobs[i], report=report)
    return job, engine, report


def scan(pages: int) -> bytes:
    return image_pdf([Image.new("RGB", (200, 100), "white") for _ in range(pages)], resolution=72.0)


def test_one_image_answers_the_original_shape_and_passes_the_options():
    job, engine, report = runner([(FileMeta("a.png", "png"), b"png")],
                                 JobOptions(model="ppocrv5-mobile", use_angle_cls=False, det_limit_side=960))
    result = job.run()
    assert set(result) == {"processing_time", "results"}
    assert result["results"] == [{"text": "image", "confidence": 0.9, "bounding_box": BOX}]
    assert engine.calls == [OcrOptions(model="ppocrv5-mobile", use_angle_cls=False, det_limit_side=960)]
    assert report.reports == [1]
    assert job.timings == {"det": 0.01, "rec": 0.02} and job.ocr_pages == 1


def test_pdf_pages_in_the_chosen_order_with_progress_after_each():
    job, engine, report = runner([(FileMeta("s.pdf", "pdf", (2, 0)), scan(3))])
    result = job.run()
    assert [p["page"] for p in result["pages"]] == [3, 1]
    assert all(p["source"] == "ocr" and p["results"][0]["text"] == "page 200x100" for p in result["pages"])
    assert report.reports == [1, 2]


def test_a_text_layer_page_is_read_not_ocred_unless_forced():
    pdf = text_pdf([[Text("Quarterly report", 72, 700, 14)]])
    job, engine, _ = runner([(FileMeta("t.pdf", "pdf"), pdf)])
    page = job.run()["pages"][0]
    assert page["source"] == "text_layer" and page["results"][0]["text"] == "Quarterly report"
    assert engine.calls == [] and job.text_layer_pages == 1
    forced, engine, _ = runner([(FileMeta("t.pdf", "pdf"), pdf)], JobOptions(force_ocr=True))
    assert forced.run()["pages"][0]["source"] == "ocr" and len(engine.calls) == 1


def test_a_text_format_result_stays_json():
    job, _, _ = runner([(FileMeta("a.png", "png"), b"png")], JobOptions(output_format="markdown"))
    result = job.run()
    assert result["output_format"] == "markdown" and "image" in result["content"]


def test_a_cancel_stops_at_the_next_page():
    job, engine, report = runner([(FileMeta("s.pdf", "pdf"), scan(4))], report=Recorder(cancel_at=2))
    with pytest.raises(JobStopped) as stopped:
        job.run()
    assert stopped.value.status is Status.CANCELED
    assert len(engine.calls) == 2 and report.reports == [1, 2]


def test_a_vanished_job_stops_too():
    job, _, _ = runner([(FileMeta("a.png", "png"), b"png")], report=lambda done: None)  # type: ignore[arg-type]
    with pytest.raises(JobStopped) as stopped:
        job.run()
    assert stopped.value.status is None


def test_a_single_bad_file_fails_the_job_with_its_code():
    job, _, _ = runner([(FileMeta("a.png", "png"), b"bad")])
    with pytest.raises(FileError) as failed:
        job.run()
    assert failed.value.code is ErrorCode.UNDECODABLE_IMAGE


def test_an_expired_upload_fails_the_job():
    job, _, _ = runner([(FileMeta("a.png", "png"), None)])
    with pytest.raises(FileError) as failed:
        job.run()
    assert failed.value.code is ErrorCode.UPLOAD_EXPIRED


def test_several_files_each_get_a_result_or_an_error_and_progress_counts_skipped_pages():
    files = [(FileMeta("bad.pdf", "pdf", (0, 1)), b"%PDF-1.4 garbage"), (FileMeta("a.png", "png"), b"png"),
             (FileMeta("b.png", "png"), b"bad")]
    job, _, report = runner(files)
    result = job.run()
    entries = result["files"]
    assert [e["filename"] for e in entries] == ["bad.pdf", "a.png", "b.png"]
    assert entries[0]["result"] is None and entries[0]["error"]["code"] == "invalid_pdf"
    assert entries[1]["error"] is None and entries[1]["result"]["results"][0]["text"] == "image"
    assert entries[2]["error"]["code"] == "undecodable_image"
    assert report.reports[-1] == 4, "the broken PDF's two pages count as done"


def test_a_page_missing_from_the_pdf_is_a_page_range_error():
    job, _, _ = runner([(FileMeta("s.pdf", "pdf", (5,)), scan(2))])
    with pytest.raises(FileError) as failed:
        job.run()
    assert failed.value.code is ErrorCode.INVALID_PAGE_RANGE and "no page 5 (page_range counts from 0)" in failed.value.message


# ---------- output_format=pdf ----------

def png(width: int = 30, height: int = 20) -> bytes:
    import io

    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


def pdf_pages(document: bytes) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(document)
    try:
        return len(pdf)
    finally:
        pdf.close()


PDF = JobOptions(output_format="pdf")


def test_one_image_becomes_one_document_the_result_points_at():
    job, _, _ = runner([(FileMeta("receipt.jpeg", "png"), png())], PDF)
    result = job.run()
    assert set(result) == {"processing_time", "output_format", "document", "filename", "bytes", "pages"}
    assert result["output_format"] == "pdf" and result["document"] == 1 and result["filename"] == "receipt.pdf"
    (document,) = job.documents
    assert document.startswith(b"%PDF-") and result["bytes"] == len(document) and result["pages"] == 1


def test_a_pdf_keeps_all_its_pages_with_page_range_choosing_what_is_ocred():
    job, engine, _ = runner([(FileMeta("s.pdf", "pdf", (1,)), scan(3))], PDF)
    result = job.run()
    assert len(engine.calls) == 1 and result["pages"] == 3 and pdf_pages(job.documents[0]) == 3


def test_images_make_one_document_and_each_pdf_its_own_in_the_order_sent():
    files = [(FileMeta("a.png", "png"), png()), (FileMeta("report.pdf", "pdf"), scan(2)),
             (FileMeta("b.png", "png"), png(40, 30)), (FileMeta(None, "pdf"), scan(1))]
    job, _, report = runner(files, PDF)
    entries = job.run()["files"]
    assert [e["error"] for e in entries] == [None] * 4
    results = [e["result"] for e in entries]
    # The images' document takes the first image's place among the documents.
    assert [r["document"] for r in results] == [1, 2, 1, 3]
    assert [r["filename"] for r in results] == ["a.pdf", "report.pdf", "a.pdf", "document.pdf"]
    assert [r.get("page") for r in results] == [1, None, 2, None]
    assert [pdf_pages(d) for d in job.documents] == [2, 2, 1]
    assert [r["pages"] for r in results] == [2, 2, 2, 1]
    assert results[0]["bytes"] == len(job.documents[0]) and report.reports[-1] == 5


def test_an_image_that_cannot_be_read_is_left_out_of_the_images_document():
    files = [(FileMeta("a.png", "png"), png()), (FileMeta("bad.png", "png"), b"bad"), (FileMeta("c.png", "png"), png())]
    job, _, _ = runner(files, PDF)
    a, bad, c = job.run()["files"]
    assert bad["result"] is None and bad["error"]["code"] == "undecodable_image"
    assert (a["result"]["page"], c["result"]["page"]) == (1, 2) and pdf_pages(job.documents[0]) == 2


def test_images_the_pdf_writer_refuses_fail_as_files_not_as_the_job():
    # The stand-in engine "reads" any bytes; img2pdf cannot embed these.
    job, _, _ = runner([(FileMeta("a.png", "png"), b"not an image"), (FileMeta("r.pdf", "pdf"), scan(1))], PDF)
    image, pdf = job.run()["files"]
    assert image["result"] is None and image["error"]["code"] == "undecodable_image"
    assert pdf["error"] is None and pdf["result"]["document"] == 2
    alone, _, _ = runner([(FileMeta("a.png", "png"), b"not an image")], PDF)
    with pytest.raises(FileError) as failed:
        alone.run()
    assert failed.value.code is ErrorCode.UNDECODABLE_IMAGE


def test_a_canceled_pdf_job_makes_no_document():
    job, _, _ = runner([(FileMeta("s.pdf", "pdf"), scan(3))], PDF, report=Recorder(cancel_at=2))
    with pytest.raises(JobStopped):
        job.run()
    assert job.documents == []


# ---------- pages read one at a time (a job split into page tasks) ----------

def _timeless(value):
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k != "processing_time"}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


@pytest.mark.parametrize("fmt", ["json", "text", "markdown", "html", "hocr", "pdf"])
def test_pages_read_one_at_a_time_and_assembled_make_the_result_of_one_run(fmt):
    import re
    import time

    files = [(FileMeta("s.pdf", "pdf", (2, 0)), scan(3)), (FileMeta("a.png", "png"), png()),
             (FileMeta("bad.png", "png"), b"bad"), (FileMeta("b.png", "png"), png(40, 30))]
    options = JobOptions(output_format=fmt, paginate_output=True)
    whole, _, _ = runner(files, options)
    expected = whole.run()
    split, _, _ = runner(files, options)
    outcomes: list = []
    for meta, data in files:  # as the page tasks do: each page on its own
        try:
            outcomes.append([page for k in range(meta.page_count) for page in split.read(data, meta, [k])])
        except FileError as exc:
            outcomes.append(exc)
    assembled = split.assemble(outcomes, time.perf_counter())
    assert _timeless(assembled) == _timeless(expected)
    file_id = re.compile(rb"/ID \[<[0-9a-f]+><[0-9a-f]+>\]")  # qpdf's random file id
    assert [file_id.sub(b"", d) for d in split.documents] == [file_id.sub(b"", d) for d in whole.documents]
    assert assembled["files"][2]["error"]["code"] == "undecodable_image"


def test_an_expired_upload_fails_an_assembled_job_of_several_files():
    from worker.processing import UploadExpired

    job, _, _ = runner([(FileMeta("a.png", "png"), None), (FileMeta("b.png", "png"), png())],
                       JobOptions(output_format="pdf"))
    with pytest.raises(UploadExpired):
        job.assemble([[], []], 0.0)
