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
    assert failed.value.code is ErrorCode.INVALID_PAGE_RANGE and "page 6" in failed.value.message
