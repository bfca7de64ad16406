"""The service's limits and formats, in one table: the gateway checks them, the worker and the
engine obey them, GET /limits shows them to the UI, and the docs list them.

Plain constants and two small functions: importing this module loads nothing but `re`.
The deployable defaults in `jobs.settings` start from these values; OCR_* variables can
change them per deployment.
"""
from __future__ import annotations

import re
from typing import Literal, get_args

MB = 1024 * 1024

# --- inputs ------------------------------------------------------------------------
MAX_UPLOAD_BYTES = 20 * MB  # one decoded file; an HTTP body may be 4/3 of it (base64)
MAX_FILES_PER_JOB = 10  # multipart `file` fields (or JSON `images`) per request
# Width x height from the image header, checked before anything is decoded, so a
# decompression bomb is refused without being decoded.
MAX_IMAGE_PIXELS = 40_000_000

# Detected type -> the PIL decoders allowed to read it (MPO is a multi-picture JPEG).
IMAGE_FORMATS: dict[str, tuple[str, ...]] = {
    "jpeg": ("JPEG", "MPO"),
    "png": ("PNG",),
    "webp": ("WEBP",),
    "bmp": ("BMP",),
    "tiff": ("TIFF",),
    "gif": ("GIF",),
}
IMAGE_NAMES = "JPEG, PNG, WebP, BMP, TIFF or GIF"
INPUT_KINDS = (*IMAGE_FORMATS, "pdf")

# --- PDFs --------------------------------------------------------------------------
MAX_PDF_PAGES = 200  # pages selected in one job, over all its PDFs
# Why 200 DPI: what the models need is line height in pixels. Measured with the engine
# (ppocrv6-small, det limit 960) on SROIE receipts (median line box 20 px, p25 15 px)
# embedded as scanned PDF pages: word F1 0.86 rendered at native size, 0.86 at 2/3 size,
# 0.79 at 1/2 size, 0.83 upsampled 1.5x. So lines want >= ~13 px and ~20 px is ideal.
# A line box is ~1.2 em: 200 DPI puts 6 pt small print at 20 px and 10 pt body text at
# 33 px, and renders 200 DPI scans (the common office setting) at native size; 300 DPI
# scans lose nothing at 200 (F1 0.860 vs 0.859 at 300) while 300 DPI costs 2.25x the
# pixels. Clean vector text of 6-12 pt read without error from 100 DPI up.
PDF_DPI = 200
# Below this a 12 pt line is under 7 px high: unreadable, so refuse rather than
# answer with silently empty results.
MIN_RENDER_DPI = 36
MAX_RENDER_DPI = 600
# 4096^2 px (48 MiB as BGR) keeps a page up to about 20x20 inches at 200 DPI;
# larger pages are rendered at a lower DPI so one page cannot allocate gigabytes.
PDF_MAX_PAGE_PIXELS = 4096 * 4096

PDF_MAGIC = b"%PDF-"
PDF_HEADER_WINDOW = 1024  # the spec lets junk precede the header; readers look this far

# page_range: comma-separated 0-based page indices and inclusive ranges, like Marker's ("0,5-10,20").
PAGE_RANGE_ITEM = re.compile(r"(\d+)(?:-(\d+))?", re.ASCII)
PAGE_RANGE_EXAMPLE = "0,5-10,20"

# --- HTTP (the gateway; web/gunicorn_conf.py and create_app apply them) ---------------
# gunicorn refuses larger request lines (414), more header fields or larger ones (431) before
# the app sees the request. URLs here are short; browsers send about 20 headers.
MAX_REQUEST_LINE = 4094
MAX_HEADER_FIELDS = 50
MAX_HEADER_FIELD_BYTES = 8190
# Multipart: at most max_files_per_job files plus this many other parts (the options), and each
# non-file part at most this large; more answers 413. werkzeug also applies the field limit to
# its parse buffer (a 64 KiB read plus the unsearched tail), files included: it must stay well
# above 64 KiB or large files are refused.
MAX_FORM_FIELDS = 16
MAX_FORM_FIELD_BYTES = 256 * 1024
# JSON bodies nest two levels ({"images": ["..."]}); deeper is refused as invalid_json.
MAX_JSON_DEPTH = 8

# --- outputs -----------------------------------------------------------------------
OutputFormat = Literal["json", "text", "markdown", "html", "hocr", "pdf"]
OUTPUT_FORMATS: tuple[str, ...] = get_args(OutputFormat)
# Documents made as text by ocrcore.formats.render (json is its dict; pdf is binary, made
# by ocrcore.searchable from the input's own bytes).
TextFormat = Literal["text", "markdown", "html", "hocr"]
TEXT_FORMATS: tuple[str, ...] = get_args(TextFormat)


def sniff_type(data: bytes) -> str | None:
    """The file type from its first bytes (never its name or Content-Type): a key of
    IMAGE_FORMATS, "pdf", or None if it is nothing we read."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(data) >= 26:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if PDF_MAGIC in data[:PDF_HEADER_WINDOW]:
        return "pdf"
    return None


def page_range_is_wellformed(spec: str) -> bool:
    """Whether `spec` follows the page_range grammar (whether the pages exist is the PDF's say)."""
    return all(PAGE_RANGE_ITEM.fullmatch(item.strip()) for item in spec.split(","))
