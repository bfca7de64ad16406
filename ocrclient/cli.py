"""The `ocrserve` command: OCR files and folders on an OCR service, in parallel, with progress.

    ocrserve ocr scans/ invoices/2024/ --url http://ocr:5005 --format md --out text/ --concurrency 4
    ocrserve ocr scans/ --out text/ --format md --skip-existing     # only what is not done yet
    ocrserve ocr receipt.jpg                                        # one file: its JSON on stdout

Each file is one job (POST /jobs, then GET /jobs/<id> until it ends). A file that fails is
reported and the others go on; the exit status is 1 if any failed, 130 after Ctrl-C (the
jobs in flight are canceled on the server). With --skip-existing a file whose output exists
is not sent at all; failed files have no output, so the next run tries them again. Files
whose first bytes are not an image or PDF are refused here, without an upload. Every job is
submitted under an Idempotency-Key of its own, so a submission whose answer was lost is sent
again without making a second job.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

from ocrcore import batch
from ocrcore.limits import IMAGE_NAMES, PDF_HEADER_WINDOW, sniff_type

from .client import DEFAULT_URL, Client, JobFailed, OcrClientError, Stopped

URL_VARIABLE = "OCRSERVE_URL"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ocrserve", description="Client of the OCR service.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ocr = commands.add_parser(
        "ocr", help="OCR files and folders of images and PDFs",
        description="OCR images and PDFs (folders are searched recursively) on the service, one job per "
                    "file, writing one output per file into --out.",
    )
    ocr.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER")
    ocr.add_argument("--url", default=os.environ.get(URL_VARIABLE, DEFAULT_URL),
                     help=f"the service (default: ${URL_VARIABLE} or {DEFAULT_URL})")
    ocr.add_argument("--format", "-f", default="json", choices=batch.FORMAT_CHOICES, metavar="FORMAT",
                     help="json (default), text, markdown (md), html or hocr")
    ocr.add_argument("--out", "-o", type=Path, default=None,
                     help="folder for the outputs (<name>.<format suffix>, keeping subfolders); "
                          "without it, a single file's output goes to stdout")
    ocr.add_argument("--concurrency", "-j", type=int, default=2, help="files in flight at once (default 2)")
    ocr.add_argument("--skip-existing", action="store_true", help="leave files whose output already exists")
    ocr.add_argument("--model", default=None, help="model set (GET /models); default: the server's")
    ocr.add_argument("--no-angle-cls", action="store_true", help="skip the 0/180 line classifier")
    ocr.add_argument("--force-ocr", action="store_true", help="OCR PDF pages even when they have a text layer")
    ocr.add_argument("--page-range", default=None, help="PDF pages to read, 0-based as the API takes them "
                     "(the first page is 0), e.g. 0,5-10,20")
    ocr.add_argument("--paginate", action="store_true", help="page separators in text, markdown and html")
    ocr.add_argument("--layout", action="store_true",
                     help="json: add each page's layout blocks in reading order (the text formats follow it anyway)")
    ocr.add_argument("--callback-url", default=None, metavar="URL",
                     help="the server POSTs each job's signed status document here when it ends "
                          "(needs OCR_CALLBACK_SECRET on the server)")
    ocr.add_argument("--timeout", type=float, default=None,
                     help="seconds to wait for one file's job before canceling it (default: no limit)")
    ocr.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="the progress bar (default: on a terminal only)")
    args = parser.parse_args(argv)
    try:
        args.format = batch.output_format(args.format)
    except ValueError as exc:
        parser.error(str(exc))
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.skip_existing and args.out is None:
        parser.error("--skip-existing needs --out")
    return args


def check_type(path: Path) -> None:
    """Refuse, without an upload, a file whose first bytes are no image or PDF the service reads."""
    with path.open("rb") as handle:
        head = handle.read(PDF_HEADER_WINDOW)
    if sniff_type(head) is None:
        raise OcrClientError(f"not an image or PDF: its bytes are no {IMAGE_NAMES} or PDF file (not sent)")


def render_output(result: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result, ensure_ascii=False, indent=1) + "\n"
    content = str(result.get("content", ""))
    return content if content.endswith("\n") else content + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    items, problems = batch.collect(args.inputs)
    for problem in problems:
        print(f"ocrserve: {problem}", file=sys.stderr)
    if not items:
        print("ocrserve: no image or PDF files to read", file=sys.stderr)
        return 1
    client = Client(args.url)
    options = {
        "output_format": args.format, "model": args.model, "use_angle_cls": False if args.no_angle_cls else None,
        "force_ocr": True if args.force_ocr else None, "paginate_output": True if args.paginate else None,
        "page_range": args.page_range, "layout": True if args.layout else None, "callback_url": args.callback_url,
    }

    def read(item: batch.Item, stop: threading.Event | None = None) -> str:
        try:
            check_type(item.path)
            result = client.ocr(item.path, stop=stop, timeout=args.timeout, **options)
        except Stopped:
            raise batch.Interrupted() from None
        except OSError as exc:
            raise OcrClientError(f"cannot read the file: {exc.strerror or exc}") from None
        except TimeoutError as exc:
            raise OcrClientError(f"{exc}; canceled") from None
        except JobFailed as exc:
            raise OcrClientError(f"the job failed: {exc}") from None
        return render_output(result, args.format)

    if args.out is None:
        if len(items) > 1:
            print("ocrserve: several files need --out DIR", file=sys.stderr)
            return 2
        try:
            sys.stdout.write(read(items[0]))
        except KeyboardInterrupt:
            return 130
        except OcrClientError as exc:
            print(f"ocrserve: {items[0].path}: {exc}", file=sys.stderr)
            return 1
        return 1 if problems else 0

    planned = batch.plan_outputs(items, args.out, args.format)
    report = batch.run(planned, read, concurrency=args.concurrency, skip_existing=args.skip_existing,
                       progress=args.progress, label=args.url)
    print(f"ocrserve: {report.summary()}", file=sys.stderr)
    if report.interrupted:
        return 130
    return 0 if report.ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
