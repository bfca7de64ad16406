"""One job's files through the OCR core: images, PDF pages (text layer or OCR), then the output format.

Runs in a worker child. PDFs are opened here, in the process that renders them, never in
the gateway's or the parent's; each page is bounded by a time limit, progress is written
after every page, and a cancellation is noticed between pages.

output_format=pdf makes documents (bytes, kept in `documents` for the job store) instead
of text: each PDF file becomes its own searchable PDF (its bytes kept, a text layer on the
OCRed pages), and all the job's images together become one PDF, a page per image in the
order sent. A result refers to its document by number (see jobs/model.py).
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from jobs.errors import ErrorCode, document_error, sentence
from jobs.model import ErrorBody, FileMeta, JobOptions, Status, download_name, error_body
from jobs.settings import Settings
from ocrcore import ImageDecodeError, ImageTooLargeError, OcrEngine, OcrOptions, OcrResult
from ocrcore.document import DocumentError, PdfDocument, open_pdf
from ocrcore.formats import PageResult, render

log = logging.getLogger(__name__)


def _page_count(document: bytes) -> int:
    with open_pdf(document, max_pages=sys.maxsize) as pdf:
        return pdf.page_count


class JobStopped(Exception):
    """The job was canceled, or its record expired, while it ran: drop the work."""

    def __init__(self, status: Status | None):
        super().__init__(status or "gone")
        self.status = status


class PageTimeLimitExceeded(Exception):
    """One page took longer than the page time limit."""


class FileError(Exception):
    """A file this job cannot read; `code` and `message` are for the client. In a job of
    several files it is that file's error; the other files still get their results."""

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def body(self) -> ErrorBody:
        return error_body(self.code, self.message)


class UploadExpired(FileError):
    """The job's upload is gone: the whole job fails, whatever its number of files."""


@contextmanager
def page_time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise PageTimeLimitExceeded in this thread once `seconds` pass (checked whenever
    Python code runs, so a long native call is cut at its end; the job's hard limit is
    the backstop for calls that never end). Only the main thread can take signals."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise PageTimeLimitExceeded(f"{what} took longer than the {seconds:g} s page time limit")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class JobRunner:
    """Runs the files of one job in order and builds its result.

    `load(i)` fetches file i's bytes (None if they expired); `report(done)` records the
    pages done and returns the job's status (None once it is gone), so a canceled job
    stops at the next page. Both are the job store's in the worker, anything in tests.

    The two halves are public for a job split into page tasks (worker/fanout.py): `read`
    reads some of a file's pages, and `assemble` makes the job's result from every file's
    pages read elsewhere with the same `entry` and `finish` that `run` uses, so a job
    gives the same result whichever way it ran.
    """

    def __init__(
        self,
        engine: OcrEngine,
        settings: Settings,
        files: list[FileMeta],
        options: JobOptions,
        load: Callable[[int], bytes | None],
        report: Callable[[int], Status | None],
    ):
        self.engine = engine
        self.settings = settings
        self.files = files or [FileMeta()]  # records written before file descriptions existed
        self.options = OcrOptions(model=options.model, use_angle_cls=options.use_angle_cls,
                                  det_limit_side=options.det_limit_side)
        self.output_format = options.output_format
        self.paginate = options.paginate_output
        self.with_layout = options.layout
        self.keep_furniture = options.keep_headers_footers
        self.force_ocr = options.force_ocr
        self.load = load
        self.report = report
        self.done = 0
        self.ocr_pages = 0
        self.text_layer_pages = 0
        self.timings: dict[str, float] = {}  # seconds per engine stage, summed over pages
        # output_format=pdf: the documents made, in order (a result's "document" n is documents[n-1]).
        self.documents: list[bytes] = []
        # The images waiting to become one document: (bytes, OCR result, the file's result to fill in).
        self._images: list[tuple[bytes, PageResult, dict[str, Any]]] = []
        self._images_document = 0  # its number, reserved when the first image is read
        self._images_name = ""  # its download name: the first image's

    def run(self) -> dict[str, Any]:
        """The job's result: a single file's own result, or {"processing_time", "files"}."""
        started = time.perf_counter()
        entries: list[dict[str, Any]] = []
        single = len(self.files) == 1
        for index, meta in enumerate(self.files):
            data = self.upload(index)
            done_before = self.done
            file_started = time.perf_counter()
            try:
                pages = []
                for page in self.read(data, meta):
                    pages.append(page)
                    self._advance(self.done + 1)
                result = self.entry(meta, pages, lambda blob=data: blob, file_started)  # type: ignore[misc]
                entries.append({"filename": meta.filename, "result": result, "error": None})
            except FileError as exc:
                if single or isinstance(exc, UploadExpired):
                    raise
                entries.append(_failed_entry(meta, exc))
                self._advance(done_before + meta.page_count)  # the pages it will never do
            del data
        return self.finish(entries, started)

    def assemble(self, outcomes: Sequence[list[PageResult] | FileError], started: float) -> dict[str, Any]:
        """The job's result from each file's pages (or its error) read elsewhere, as `run` makes it;
        `started` is the job's start on the perf_counter clock."""
        entries: list[dict[str, Any]] = []
        single = len(self.files) == 1
        for index, (meta, outcome) in enumerate(zip(self.files, outcomes, strict=True)):
            try:
                if isinstance(outcome, FileError):
                    raise outcome
                result = self.entry(meta, outcome, lambda i=index: self.upload(i), started)  # type: ignore[misc]
                entries.append({"filename": meta.filename, "result": result, "error": None})
            except FileError as exc:
                if single or isinstance(exc, UploadExpired):
                    raise
                entries.append(_failed_entry(meta, exc))
        return self.finish(entries, started)

    def upload(self, index: int) -> bytes:
        """File `index`'s bytes; UPLOAD_EXPIRED fails the job (it is not one file's fault)."""
        data = self.load(index)
        if data is None:
            raise UploadExpired(ErrorCode.UPLOAD_EXPIRED, "The upload expired before a worker could process it.")
        return data

    def finish(self, entries: list[dict[str, Any]], started: float) -> dict[str, Any]:
        """The job's result from its files' entries: the images' document written, then a single
        file's own result, or {"processing_time", "files"}."""
        single = len(self.files) == 1
        if self._images:
            try:
                self._write_images_document()
            except FileError as exc:
                if single:
                    raise
                waiting = [result for _, _, result in self._images]
                for entry in entries:
                    if any(entry["result"] is result for result in waiting):
                        entry["result"], entry["error"] = None, exc.body()
            self._images = []
        if single:
            result: dict[str, Any] = entries[0]["result"]
            return result
        return {"processing_time": round(time.perf_counter() - started, 3), "files": entries}

    # --- one file -----------------------------------------------------------

    def read(self, data: bytes, meta: FileMeta, positions: Sequence[int] | None = None) -> Iterator[PageResult]:
        """The file's pages in order: an image's one page, a PDF's selected pages (or those at
        `positions` in its selection), each PDF page under the page time limit. What the file
        cannot give (undecodable, too large, not a PDF, a page past its end) is a FileError."""
        try:
            if not meta.is_pdf:
                yield self._image(data)
                return
            # The gateway already applied the page cap and page_range: open without a cap here.
            with open_pdf(data, max_pages=sys.maxsize) as document:
                selected = meta.pages if meta.pages is not None else range(document.page_count)
                for index in selected if positions is None else [selected[k] for k in positions]:
                    yield self._page(document, index)
        except ImageTooLargeError:
            raise FileError(ErrorCode.TOO_MANY_PIXELS,
                            f"The image has more pixels than the limit of {self.settings.max_image_pixels}.") from None
        except ImageDecodeError:
            raise FileError(ErrorCode.UNDECODABLE_IMAGE,
                            "The image could not be decoded; it may be corrupt or truncated.") from None
        except DocumentError as exc:
            raise FileError(*document_error(exc)) from None
        except PageTimeLimitExceeded as exc:
            raise FileError(ErrorCode.TIME_LIMIT, sentence(exc)) from None

    def entry(self, meta: FileMeta, pages: list[PageResult], data: Callable[[], bytes],
              started: float) -> dict[str, Any]:
        """A file's result from its pages, in the job's output format; `data()` gives its bytes
        (output_format=pdf only), `started` is when its work began (perf_counter)."""
        if self.output_format == "pdf":
            return self._searchable(data(), meta, pages, started)
        elapsed = time.perf_counter() - started
        body, _ = render(pages, elapsed, self.output_format, self.paginate, is_document=meta.is_pdf,
                         with_layout=self.with_layout, keep_furniture=self.keep_furniture)
        if isinstance(body, str):  # a text format: the job result must stay JSON
            return {"processing_time": round(elapsed, 3), "output_format": self.output_format, "content": body}
        return body

    # --- output_format=pdf ---------------------------------------------------

    def _searchable(self, data: bytes, meta: FileMeta, pages: list[PageResult], started: float) -> dict[str, Any]:
        """A PDF's own searchable document now; an image's result is filled in once all the
        job's images are read (_write_images_document)."""
        if not meta.is_pdf:
            if not self._images:
                self.documents.append(b"")  # the images' document takes the first image's place
                self._images_document = len(self.documents)
                self._images_name = download_name(meta.filename, "pdf")
            result = {"processing_time": round(time.perf_counter() - started, 3), "output_format": "pdf"}
            self._images.append((data, pages[0], result))
            return result
        import pikepdf

        from ocrcore.searchable import pdf_with_text_layer

        try:
            document = pdf_with_text_layer(data, pages)
        except (pikepdf.PdfError, ValueError, OSError) as exc:  # qpdf could not rewrite what pdfium read
            log.warning("searchable PDF of %r failed: %r", meta.filename, exc)
            raise FileError(ErrorCode.INVALID_PDF,
                            "The PDF was read, but could not be written back with a text layer.") from None
        self.documents.append(document)
        return {
            "processing_time": round(time.perf_counter() - started, 3), "output_format": "pdf",
            "document": len(self.documents), "filename": download_name(meta.filename, "pdf"),
            "bytes": len(document), "pages": _page_count(document),
        }

    def _write_images_document(self) -> None:
        """All the job's images as one PDF, a page each; their results point at it."""
        import img2pdf

        from ocrcore.searchable import images_to_pdf

        started = time.perf_counter()
        images, pages, results = zip(*self._images, strict=True)
        try:
            document = images_to_pdf(list(images), list(pages))
        except (img2pdf.ImageOpenError, ValueError, OSError) as exc:  # what decoding accepted, img2pdf did not
            log.warning("searchable PDF of %d image(s) failed: %r", len(images), exc)
            raise FileError(ErrorCode.UNDECODABLE_IMAGE,
                            "The image was read, but could not be written as a PDF page.") from None
        finally:
            del images
        self.documents[self._images_document - 1] = document
        writing = time.perf_counter() - started
        for page, result in enumerate(results, start=1):
            result["processing_time"] = round(result["processing_time"] + writing, 3)
            result.update(document=self._images_document, filename=self._images_name, bytes=len(document),
                          pages=len(results))
            if len(results) > 1:
                result["page"] = page

    def _image(self, data: bytes) -> PageResult:
        # An image's time is bounded by the job's own limits (a one-page job's are the base ones).
        result = self._ocr(data)
        return PageResult(1, result.width, result.height, "ocr", result.lines, result.rulings)

    def _page(self, document: PdfDocument, index: int) -> PageResult:
        if not 0 <= index < document.page_count:
            raise FileError(ErrorCode.INVALID_PAGE_RANGE, f"The PDF has no page {index} (page_range counts from 0).")
        with page_time_limit(self.settings.page_time_limit, f"Page {index + 1}"):
            page = document.prepare_page(
                index, dpi=self.settings.pdf_dpi, max_pixels=self.settings.pdf_max_page_pixels,
                force_ocr=self.force_ocr,
            )
            if page.lines is not None:
                self.text_layer_pages += 1
                return PageResult(index + 1, page.width, page.height, "text_layer", page.lines, page.rulings)
            assert page.image is not None  # a page without a usable text layer is rendered
            result = self._ocr(page.image)
            return PageResult(index + 1, page.width, page.height, "ocr", result.lines, result.rulings)

    def _ocr(self, image: bytes | np.ndarray) -> OcrResult:
        result = self.engine.run(image, self.options)
        self.ocr_pages += 1
        for stage, seconds in result.timings.items():
            self.timings[stage] = self.timings.get(stage, 0.0) + seconds
        return result

    def _advance(self, done: int) -> None:
        self.done = done
        status = self.report(done)
        if status != Status.RUNNING:
            raise JobStopped(status)


def _failed_entry(meta: FileMeta, exc: FileError) -> dict[str, Any]:
    return {"filename": meta.filename, "result": None, "error": exc.body()}
