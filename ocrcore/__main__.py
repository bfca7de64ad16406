"""CLI: python -m ocrcore FILES-or-FOLDERS... [--format F] [--out DIR] -> OCR on this machine.

Without --out (the original use): the JSON of each file on stdout (an object for one file, a
list for several), stopping at the first file that cannot be read. With --out DIR: one output
file per input in DIR, a progress bar, a failed file reported while the others go on, exit
status 1 if any failed. Images and PDFs (a page's text layer is used unless --force-ocr).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import batch
from .document import DocumentError, is_pdf, open_pdf
from .engine import OcrEngine
from .errors import OcrError
from .formats import PageResult, render
from .limits import MAX_RENDER_DPI, PDF_DPI, PDF_MAX_PAGE_PIXELS
from .registry import DEFAULT_MODEL, MODEL_SETS
from .types import OcrOptions


class Reader:
    """One engine and the options of this run: a file's bytes -> its output in the chosen format."""

    def __init__(self, args: argparse.Namespace):
        threads = args.threads or len(os.sched_getaffinity(0))
        self.engine = OcrEngine(threads=threads, default_model=args.model)
        self.options = OcrOptions(use_angle_cls=not args.no_angle_cls, det_limit_side=args.det_limit_side)
        self.format = args.format
        self.paginate = args.paginate
        self.force_ocr = args.force_ocr
        self.page_range = args.page_range
        self.dpi = args.dpi
        self.layout = args.layout
        self.keep_furniture = args.keep_headers_footers

    def read(self, data: bytes, stop: threading.Event | None = None) -> dict[str, Any] | str:
        """The file's result: for json the service's JSON body, else the text document."""
        started = time.perf_counter()
        if not is_pdf(data):
            result = self.engine.run(data, self.options)
            pages = [PageResult(1, result.width, result.height, "ocr", result.lines, result.rulings)]
            return self._render(pages, result.processing_time, is_document=False)  # the service's image body
        pages = []
        # Local use: no page cap but the one page_range sets.
        with open_pdf(data, max_pages=sys.maxsize, page_range=self.page_range) as document:
            for index in document.selected_pages:
                if stop is not None and stop.is_set():
                    raise batch.Interrupted()
                page = document.prepare_page(index, dpi=self.dpi, max_pixels=PDF_MAX_PAGE_PIXELS,
                                             force_ocr=self.force_ocr)
                if page.lines is not None:
                    pages.append(PageResult(index + 1, page.width, page.height, "text_layer", page.lines, page.rulings))
                else:
                    assert page.image is not None  # a page without a usable text layer is rendered
                    result = self.engine.run(page.image, self.options)
                    pages.append(PageResult(index + 1, page.width, page.height, "ocr", result.lines, result.rulings))
        return self._render(pages, time.perf_counter() - started, is_document=True)

    def _render(self, pages: list[PageResult], seconds: float, *, is_document: bool) -> dict[str, Any] | str:
        return render(pages, seconds, self.format, self.paginate, is_document=is_document,
                      with_layout=self.layout, keep_furniture=self.keep_furniture)[0]


def serialize(body: dict[str, Any] | str) -> str:
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ocrcore",
        description="OCR images and PDFs on this machine: JSON on stdout, or one file per input with --out.",
    )
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER",
                        help="images (JPEG, PNG, WebP, BMP, TIFF, GIF), PDFs, or folders of them (searched in depth)")
    parser.add_argument("--model", choices=MODEL_SETS, default=DEFAULT_MODEL, help="model set")
    parser.add_argument("--format", "-f", default="json", choices=batch.FORMAT_CHOICES, metavar="FORMAT",
                        help="json (default), text, markdown (md), html or hocr")
    parser.add_argument("--out", "-o", type=Path, default=None,
                        help="write one output per input into this folder, with a progress bar, "
                             "going on past a failed file")
    parser.add_argument("--skip-existing", action="store_true", help="with --out: leave inputs whose output exists")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="the progress bar with --out (default: on a terminal only)")
    parser.add_argument("--no-angle-cls", action="store_true", help="skip the 0/180 line classifier")
    parser.add_argument("--det-limit-side", type=int, default=None, help="longest side fed to detection")
    parser.add_argument("--force-ocr", action="store_true", help="OCR PDF pages even when they have a text layer")
    parser.add_argument("--page-range", default=None, help="PDF pages to read, 0-based as the API and Marker take them "
                        "(the first page is 0), e.g. 0,5-10,20 (default: all)")
    parser.add_argument("--paginate", action="store_true", help="page separators in text, markdown and html")
    parser.add_argument("--layout", action="store_true", help="json: each page's blocks in reading order too")
    parser.add_argument("--keep-headers-footers", action="store_true",
                        help="keep running headers, footers and page numbers in text, markdown and html")
    parser.add_argument("--dpi", type=float, default=PDF_DPI, help=f"PDF render resolution (default {PDF_DPI})")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: usable CPUs)")
    args = parser.parse_args(argv)
    args.format = batch.output_format(args.format)
    if args.skip_existing and args.out is None:
        parser.error("--skip-existing needs --out")
    if not 0 < args.dpi <= MAX_RENDER_DPI:
        parser.error(f"--dpi must be in (0, {MAX_RENDER_DPI}]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    items, problems = batch.collect(args.inputs)
    for problem in problems:
        print(f"ocrcore: {problem}", file=sys.stderr)
    if args.out is None:
        return to_stdout(args, items, problems)

    planned = batch.plan_outputs(items, args.out, args.format)
    if args.skip_existing and all(item.output is not None and item.output.exists() for item in planned):
        reader = None  # nothing to do: no models loaded
    else:
        reader = Reader(args)

    def work(item: batch.Item, stop: threading.Event) -> str:
        assert reader is not None
        try:
            return serialize(reader.read(item.path.read_bytes(), stop))
        except OSError as exc:
            raise RuntimeError(f"cannot read the file: {exc.strerror or exc}") from None

    try:
        report = batch.run(planned, work, concurrency=1, skip_existing=args.skip_existing, progress=args.progress)
    except KeyboardInterrupt:
        return 130
    print(f"ocrcore: {report.summary()}", file=sys.stderr)
    if report.interrupted:
        return 130
    return 0 if report.ok and not problems else 1


def to_stdout(args: argparse.Namespace, items: list[batch.Item], problems: list[str]) -> int:
    """The original behaviour: everything on stdout, the first unreadable file ends the run."""
    if problems or not items:
        if not items and not problems:
            print("ocrcore: no image or PDF files found", file=sys.stderr)
        return 1
    reader = Reader(args)
    outputs = []
    for item in items:
        try:
            outputs.append(reader.read(item.path.read_bytes()))
        except (OSError, OcrError, DocumentError) as exc:
            print(f"ocrcore: {item.path}: {exc}", file=sys.stderr)
            return 1
    if args.format == "json":
        json.dump(outputs[0] if len(outputs) == 1 else outputs, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for item, body in zip(items, outputs):
            if len(outputs) > 1:
                sys.stdout.write(f"==> {item.path} <==\n")
            sys.stdout.write(serialize(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
