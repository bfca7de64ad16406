"""PDF input: detect, open safely, pick pages, render them for OCR, or read their text layer.

PDFium (through pypdfium2) does the parsing and rendering. PDFium is not thread-safe,
not even across different documents, so every call into it here holds one process-wide
lock; use each PdfDocument from one thread at a time and never carry an open document
across a fork (open it in the process that uses it, e.g. inside the task).
"""
from __future__ import annotations

import ctypes
import math
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from . import limits
from .errors import OcrError
from .layout.model import Rulings
from .types import TextLine, Word

DEFAULT_DPI = limits.PDF_DPI  # ocrcore/limits.py says why 200
DEFAULT_MAX_PIXELS = limits.PDF_MAX_PAGE_PIXELS
MIN_RENDER_DPI = limits.MIN_RENDER_DPI
DEFAULT_MAX_PAGES = limits.MAX_PDF_PAGES
# Decoding embedded images costs time in proportion to their pixels, whatever the
# render size (PDFium streams them: a 40000x40000 image takes ~1 s and little memory).
# 400 Mpx per page is 5x a 600 DPI scan of an A3 page; more is a decompression bomb.
MAX_PAGE_IMAGE_PIXELS = 400_000_000
# Text layers with more characters than this per page are treated as unusable (the
# page is OCRed instead): a dense legal page has ~6000, so this is only ever hostile.
MAX_TEXT_CHARS = 50_000
# Page objects inspected per page before rendering (nested forms can multiply them).
_MAX_OBJECTS_WALKED = 200_000

# A text layer is usable when it has at least this many readable characters...
MIN_TEXT_CHARS = 3
# ...and at most this share of them are unreadable (U+FFFD, private use, unmapped glyphs).
MAX_BAD_CHAR_SHARE = 0.1
# A page mostly covered by images (a scan) whose text covers less than this share of the
# page only carries a stamp or header as text (e.g. "Page 3"); its content is in the image.
MIN_TEXT_COVER_ON_SCAN = 0.03
SCAN_IMAGE_COVER = 0.5

# Line building from characters (in rendered pixels, relative to the line height):
# a horizontal gap wider than this starts a new line (table cells, columns). Newspaper and
# Federal Register gutters are ~1.2 line heights; justified word spaces stay under ~0.8.
# A line cut at a wide space is joined again by the layout (pieces of one row closer than a
# gutter are one), so cutting errs on the safe side.
_COLUMN_GAP = 1.0
# Two boxes are on the same line when they overlap vertically by this share of the smaller.
_SAME_LINE_OVERLAP = 0.5
# A gap wider than this between glyphs with no space character reads as a word break.
_IMPLIED_SPACE = 0.3

# Glyphs smaller than this (points, larger side) are invisible in print: hidden text, not content.
_MIN_GLYPH_PT = 2.0

_PDFIUM_LOCK = threading.RLock()


class DocumentError(OcrError, ValueError):
    """A document we refuse to process; the message is safe to show to the user."""


class PdfInvalidError(DocumentError):
    """Not a PDF, damaged beyond repair, or without pages."""


class PdfEncryptedError(DocumentError):
    """The PDF needs a password to open."""


class PdfTooManyPagesError(DocumentError):
    """More pages selected than the configured cap."""


class PdfPageTooLargeError(DocumentError):
    """A page too large to render usefully, or carrying more image data than we decode."""


class PageRangeError(DocumentError):
    """A page_range that is malformed or names pages the document does not have."""


@dataclass
class PageInput:
    """One page made ready for the pipeline: either its text layer or its rendering."""

    index: int  # 0-based page index in the document
    width: int  # pixels at `dpi`; text-layer boxes use the same frame
    height: int
    dpi: float
    lines: list[TextLine] | None  # the text layer, when used instead of OCR
    image: np.ndarray | None  # BGR uint8 rendering, when the page needs OCR
    rulings: Rulings | None = None  # with the text layer: the page's drawn ruling lines


def is_pdf(data: bytes) -> bool:
    """True when the bytes carry a PDF header where readers look for it (first 1024 bytes)."""
    return limits.sniff_type(data) == "pdf"


def parse_page_range(spec: str | None, page_count: int) -> list[int]:
    """0-based, as Marker's page_range: "0-2,6" -> sorted unique page indices [0, 1, 2, 6] (the
    first, second, third and seventh pages); None or "" -> every page."""
    if spec is None or not spec.strip():
        return list(range(page_count))
    pages: set[int] = set()
    for item in spec.split(","):
        match = limits.PAGE_RANGE_ITEM.fullmatch(item.strip())
        if not match:
            raise PageRangeError(
                f"page_range {spec!r} is malformed at {item.strip()!r}; use 0-based page numbers and ranges "
                f"like {limits.PAGE_RANGE_EXAMPLE}"
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if first > last:
            raise PageRangeError(f"page_range item {item.strip()!r} runs backwards")
        if last >= page_count:
            pages_are = "page 0" if page_count == 1 else f"pages 0-{page_count - 1}"
            raise PageRangeError(
                f"page_range item {item.strip()!r} is out of range: the document has {page_count} "
                f"page{'s' if page_count != 1 else ''}, {pages_are} (0-based)"
            )
        pages.update(range(first, last + 1))
    return sorted(pages)


def open_pdf(
    data: bytes | bytearray | memoryview, *, max_pages: int = DEFAULT_MAX_PAGES, page_range: str | None = None
) -> PdfDocument:
    """Open PDF bytes, or raise a DocumentError saying why not.

    The page cap applies to the pages selected by `page_range` (all pages without one),
    so a long document can still be read a slice at a time.
    """
    data = bytes(data)  # PDFium reads from memory we keep alive; bytearray/memoryview are copied
    if not is_pdf(data):
        raise PdfInvalidError("the file is not a PDF (no %PDF- header)")
    with _PDFIUM_LOCK:
        try:
            raw = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
                raise PdfEncryptedError("the PDF is password-protected; remove the password and try again") from None
            if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
                raise PdfEncryptedError("the PDF is encrypted with an unsupported security handler") from None
            # PDFium reports a PDF without pages as a format error too.
            raise PdfInvalidError("the PDF is damaged or has no pages and cannot be read") from None
        document = PdfDocument(raw)
    try:
        document.selected_pages = parse_page_range(page_range, document.page_count)
        if len(document.selected_pages) > max_pages:
            hint = "" if page_range else "; use page_range to pick the pages you need"
            raise PdfTooManyPagesError(
                f"{len(document.selected_pages)} pages selected; the limit is {max_pages}{hint}"
            )
    except DocumentError:
        document.close()
        raise
    return document


class PdfDocument:
    """An open PDF. Close it (or use `with`) to free PDFium's memory at once."""

    def __init__(self, raw: pdfium.PdfDocument):
        self._raw = raw
        self.page_count: int = len(raw)
        self.selected_pages: list[int] = list(range(self.page_count))

    def __enter__(self) -> PdfDocument:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        with _PDFIUM_LOCK:
            if self._raw is not None:
                self._raw.close()
                self._raw = None

    def page_size(self, index: int) -> tuple[float, float]:
        """(width, height) in points (1/72 inch) as displayed, i.e. after the page's /Rotate."""
        with self._page(index) as page:
            return _checked_size(page, index)

    def render_dpi(self, index: int, *, dpi: float = DEFAULT_DPI, max_pixels: int = DEFAULT_MAX_PIXELS) -> float:
        """The DPI render() uses: `dpi`, lowered when the page would exceed `max_pixels`."""
        with self._page(index) as page:
            return _Frame.of(page, index, dpi, max_pixels).dpi

    def pixel_size(
        self, index: int, *, dpi: float = DEFAULT_DPI, max_pixels: int = DEFAULT_MAX_PIXELS
    ) -> tuple[int, int]:
        """(width, height) in pixels of render() with the same arguments."""
        with self._page(index) as page:
            frame = _Frame.of(page, index, dpi, max_pixels)
            return frame.width, frame.height

    def render(self, index: int, *, dpi: float = DEFAULT_DPI, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
        """The page as a BGR uint8 array, at `dpi` or lower if needed to stay within `max_pixels`."""
        with self._page(index) as page:
            return _render(page, index, _Frame.of(page, index, dpi, max_pixels))

    def text_lines(
        self, index: int, *, dpi: float = DEFAULT_DPI, max_pixels: int = DEFAULT_MAX_PIXELS
    ) -> list[TextLine] | None:
        """The page's text layer as lines, boxes in the pixel frame of render() with the same
        arguments; None when the page has no usable text layer (scanned, garbage, or a scan
        with only a stamp of text on it)."""
        with self._page(index) as page:
            return _text_lines(page, _Frame.of(page, index, dpi, max_pixels))

    def prepare_page(
        self,
        index: int,
        *,
        dpi: float = DEFAULT_DPI,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        force_ocr: bool = False,
    ) -> PageInput:
        """What the pipeline needs for one page: its text layer when usable (and not
        `force_ocr`), else its rendering. Reading the text layer never renders."""
        with self._page(index) as page:
            frame = _Frame.of(page, index, dpi, max_pixels)
            lines = None if force_ocr else _text_lines(page, frame)
            image = _render(page, index, frame) if lines is None else None
            rulings = _vector_rulings(page, frame) if lines is not None else None
            return PageInput(index, frame.width, frame.height, frame.dpi, lines, image, rulings)

    @contextmanager
    def _page(self, index: int) -> Iterator[pdfium.PdfPage]:
        with _PDFIUM_LOCK:
            if self._raw is None:
                raise ValueError("the document is closed")
            if not 0 <= index < self.page_count:
                raise IndexError(f"page index {index} out of range 0..{self.page_count - 1}")
            try:
                page = self._raw[index]
            except pdfium.PdfiumError:
                raise PdfInvalidError(f"page {index + 1} of the PDF is damaged and cannot be read") from None
            try:
                yield page
            finally:
                page.close()


def _render(page: pdfium.PdfPage, index: int, frame: _Frame) -> np.ndarray:
    _check_image_budget(page, index)
    bitmap = page.render(scale=frame.dpi / 72)  # BGR on white, annotations drawn
    try:
        array = bitmap.to_numpy()
        if array.shape[:2] != (frame.height, frame.width):
            raise PdfInvalidError(f"page {index + 1} rendered at an unexpected size")
        return np.array(array, dtype=np.uint8, copy=True, order="C")
    finally:
        bitmap.close()


def _text_lines(page: pdfium.PdfPage, frame: _Frame) -> list[TextLine] | None:
    chars = _read_chars(page, frame.width, frame.height)
    if chars is None or not _readable(chars):
        return None
    lines = [ln for ln in _group_lines(chars) if ln.text]
    if not lines:
        return None
    if _image_cover(page) >= SCAN_IMAGE_COVER:
        text_area = sum((ln.x1 - ln.x0) * (ln.y1 - ln.y0) for ln in lines)
        if text_area < MIN_TEXT_COVER_ON_SCAN * frame.width * frame.height:
            return None
    return [ln.to_text_line(frame.width, frame.height) for ln in lines]


# Path objects looked at for ruling lines; a page drawing more (a vector map or chart)
# has its tables found from its text alone.
MAX_PATH_OBJECTS = 5000
# Thin: a drawn ruling is at most this many pixels across (at the render DPI).
_RULING_THICKNESS = 4.0


def _vector_rulings(page: pdfium.PdfPage, frame: _Frame) -> Rulings | None:
    """The ruling lines a born-digital page draws (thin paths, and the edges of stroked
    rectangles), in the text layer's pixel frame, for the layout's ruled tables."""
    to_pixels = _PageToPixels(page, frame.width, frame.height)
    horizontal: list[tuple[int, int, int]] = []
    vertical: list[tuple[int, int, int]] = []
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    for count, obj in enumerate(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=3)):
        if count >= MAX_PATH_OBJECTS:
            return None
        x0, y0, x1, y1 = to_pixels.rect(*obj.get_bounds())
        width, height = x1 - x0, y1 - y0
        if height <= _RULING_THICKNESS and width >= 4 * _RULING_THICKNESS:
            horizontal.append((int(x0), int((y0 + y1) / 2), int(x1)))
        elif width <= _RULING_THICKNESS and height >= 4 * _RULING_THICKNESS:
            vertical.append((int((x0 + x1) / 2), int(y0), int(y1)))
        elif (pdfium_c.FPDFPath_GetDrawMode(obj.raw, fill, stroke) and stroke.value
              and pdfium_c.FPDFPath_CountSegments(obj.raw) <= 5):  # a stroked rectangle: its edges
            horizontal += [(int(x0), int(y0), int(x1)), (int(x0), int(y1), int(x1))]
            vertical += [(int(x0), int(y0), int(y1)), (int(x1), int(y0), int(y1))]
    return Rulings(tuple(horizontal), tuple(vertical)) if horizontal or vertical else None


# --- geometry -----------------------------------------------------------------


def _checked_size(page: pdfium.PdfPage, index: int) -> tuple[float, float]:
    width, height = page.get_size()
    if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
        raise PdfInvalidError(f"page {index + 1} of the PDF has no valid size")
    return width, height


@dataclass(frozen=True)
class _Frame:
    """The pixel frame of one page rendering: effective DPI and bitmap size."""

    dpi: float
    width: int
    height: int

    @classmethod
    def of(cls, page: pdfium.PdfPage, index: int, dpi: float, max_pixels: int) -> _Frame:
        if dpi <= 0 or max_pixels <= 0:
            raise ValueError("dpi and max_pixels must be positive")
        width_pt, height_pt = _checked_size(page, index)

        def bitmap_size(dpi: float) -> tuple[int, int]:  # the rounding pypdfium2's render uses
            scale = dpi / 72
            return max(1, math.ceil(width_pt * scale)), max(1, math.ceil(height_pt * scale))

        effective = min(float(dpi), 72 * math.sqrt(max_pixels / (width_pt * height_pt)))
        # Rounding up to whole pixels adds up to a row and a column: leave room for them.
        while math.prod(bitmap_size(effective)) > max_pixels:
            effective *= 0.999
        if effective < min(MIN_RENDER_DPI, dpi):
            raise PdfPageTooLargeError(
                f"page {index + 1} is {width_pt / 72:.0f}x{height_pt / 72:.0f} inches, too large to "
                f"render within {max_pixels} pixels at a readable resolution"
            )
        return cls(effective, *bitmap_size(effective))


class _PageToPixels:
    """Affine map from PDF user space to rendered pixels, rotation and crop box included.

    Derived from PDFium's own FPDF_PageToDevice at three page corners, mapped onto a
    16x larger virtual canvas so its integer rounding costs under 1/16 pixel.
    """

    _OVERSAMPLE = 16

    def __init__(self, page: pdfium.PdfPage, width: int, height: int):
        left, bottom, right, top = page.get_bbox()
        canvas = (0, 0, width * self._OVERSAMPLE, height * self._OVERSAMPLE, 0)
        x, y = ctypes.c_int(), ctypes.c_int()

        def device(px: float, py: float) -> tuple[float, float]:
            if not pdfium_c.FPDF_PageToDevice(page.raw, *canvas, px, py, x, y):
                raise PdfInvalidError("the PDF page geometry cannot be mapped")
            return x.value / self._OVERSAMPLE, y.value / self._OVERSAMPLE

        origin = device(left, bottom)
        along_x = device(right, bottom)
        along_y = device(left, top)
        span_x, span_y = right - left, top - bottom
        self._left, self._bottom = left, bottom
        self._origin = origin
        self._dx = ((along_x[0] - origin[0]) / span_x, (along_x[1] - origin[1]) / span_x)
        self._dy = ((along_y[0] - origin[0]) / span_y, (along_y[1] - origin[1]) / span_y)

    def rect(self, left: float, bottom: float, right: float, top: float) -> tuple[float, float, float, float]:
        """A page-space rectangle -> (x0, y0, x1, y1) in pixels, y growing downwards."""
        xs, ys = [], []
        for px, py in ((left, bottom), (right, top)):
            u, v = px - self._left, py - self._bottom
            xs.append(self._origin[0] + u * self._dx[0] + v * self._dy[0])
            ys.append(self._origin[1] + u * self._dx[1] + v * self._dy[1])
        return min(xs), min(ys), max(xs), max(ys)


# --- embedded images ----------------------------------------------------------


def _walk_images(page: pdfium.PdfPage):
    """Yield image objects of the page, nested form XObjects included, within a budget."""
    budget = _MAX_OBJECTS_WALKED
    stack: list[tuple[int, Callable[[int], Any]]] = [
        (pdfium_c.FPDFPage_CountObjects(page.raw), lambda i: pdfium_c.FPDFPage_GetObject(page.raw, i))
    ]
    while stack and budget > 0:
        count, get = stack.pop()
        for i in range(max(count, 0)):
            budget -= 1
            if budget <= 0:
                return
            obj = get(i)
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
                yield obj
            elif kind == pdfium_c.FPDF_PAGEOBJ_FORM:
                count = pdfium_c.FPDFFormObj_CountObjects(obj)
                stack.append((count, partial(pdfium_c.FPDFFormObj_GetObject, obj)))


def _check_image_budget(page: pdfium.PdfPage, index: int) -> None:
    width, height = ctypes.c_uint(), ctypes.c_uint()
    total = 0
    for obj in _walk_images(page):
        if pdfium_c.FPDFImageObj_GetImagePixelSize(obj, width, height):
            total += width.value * height.value
            if total > MAX_PAGE_IMAGE_PIXELS:
                raise PdfPageTooLargeError(
                    f"page {index + 1} embeds images of more than {MAX_PAGE_IMAGE_PIXELS} pixels; "
                    "refusing to decode them"
                )


def _image_cover(page: pdfium.PdfPage) -> float:
    """Share of the page area covered by images (overlaps counted twice, capped at 1)."""
    left, bottom, right, top = page.get_bbox()
    page_area = max((right - left) * (top - bottom), 1e-9)
    covered = 0.0
    x0, y0, x1, y1 = (ctypes.c_float() for _ in range(4))
    for obj in _walk_images(page):
        if pdfium_c.FPDFPageObj_GetBounds(obj, x0, y0, x1, y1):
            w = min(x1.value, right) - max(x0.value, left)
            h = min(y1.value, top) - max(y0.value, bottom)
            if w > 0 and h > 0:
                covered += w * h
    return min(covered / page_area, 1.0)


# --- text layer ---------------------------------------------------------------


@dataclass
class _Char:
    text: str  # one code unit (UTF-16 halves are re-joined when a line is built)
    box: tuple[float, float, float, float] | None  # pixels; None for spaces and zero-size glyphs
    bad: bool  # unreadable: U+FFFD, private use, control, or a glyph without Unicode mapping


def _read_chars(page: pdfium.PdfPage, width: int, height: int) -> list[_Char] | None:
    """The page's characters in content order, boxes in pixels; None when absurdly many."""
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        if count > MAX_TEXT_CHARS:
            return None
        to_pixels = _PageToPixels(page, width, height)
        rect = pdfium_c.FS_RECTF()
        chars = []
        for i in range(count):
            code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
            # PDFium gives the hyphen it finds at a line's end (FPDFText_IsHyphen) as U+0002: it
            # is the page's "-", which the layout joins the broken word across ("adip-iscing").
            text = "-" if code == _LINE_END_HYPHEN else chr(code) if code < 0x110000 else "\ufffd"
            if text in "\r\n" or text.isspace():
                chars.append(_Char("\n" if text in "\r\n" else " ", None, False))
                continue
            bad = bool(pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, i)) or _unreadable(text)
            box = None
            if (
                pdfium_c.FPDFText_GetLooseCharBox(textpage.raw, i, rect)
                and max(rect.right - rect.left, rect.top - rect.bottom) >= _MIN_GLYPH_PT
            ):
                x0, y0, x1, y1 = to_pixels.rect(rect.left, rect.bottom, rect.right, rect.top)
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                if not (0 <= cx <= width and 0 <= cy <= height):
                    continue  # outside the visible page: hidden text is not the page's text
                box = (x0, y0, x1, y1)
            chars.append(_Char(text, box, bad))
        return chars
    finally:
        textpage.close()


_LINE_END_HYPHEN = 0x02


def _unreadable(char: str) -> bool:
    if char == "\ufffd":
        return True
    category = unicodedata.category(char)
    return category in ("Co", "Cn", "Cc")  # private use (unmapped glyphs), unassigned, control


def _readable(chars: list[_Char]) -> bool:
    # Only glyphs with a size count: zero-size text (font size 0) is a known way to hide text.
    good = sum(1 for c in chars if c.box is not None and not c.bad and not _is_surrogate(c.text))
    bad = sum(1 for c in chars if c.bad)
    return good >= MIN_TEXT_CHARS and bad <= MAX_BAD_CHAR_SHARE * (good + bad)


def _is_surrogate(char: str) -> bool:
    return 0xD800 <= ord(char) <= 0xDFFF


def _along(box: tuple[float, float, float, float], vertical: bool) -> tuple[float, float, float, float]:
    """Swap axes for vertical runs so one rule serves both: (start, top, end, bottom) along the run."""
    return (box[1], box[0], box[3], box[2]) if vertical else box


def _clean(joined: str) -> str:
    # Rejoin UTF-16 surrogate halves that PDFium reports as separate characters.
    joined = joined.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    # Control and private-use code points are glyph ids without meaning, not text.
    joined = "".join(c for c in joined if unicodedata.category(c) not in ("Cc", "Co"))
    return " ".join(joined.split())


@dataclass
class _Line:
    x0: float
    y0: float
    x1: float
    y1: float
    units: list[str]
    last: tuple[float, float, float, float]  # box of the latest glyph
    vertical: bool | None = None  # None until the second glyph shows the direction
    pending_space: bool = False
    # Each word's glyph boxes' union and its units: table cells are split at their words.
    words: list[tuple[list[float], list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.words:  # the line's first glyph opens its first word
            self.words.append(([*self.last], list(self.units)))

    @property
    def text(self) -> str:
        return _clean("".join(self.units))

    def _gap(self, box: tuple[float, float, float, float], vertical: bool) -> tuple[float, float, float]:
        """(overlap across the run, gap along the run, run thickness) for a glyph joining this line."""
        line = _along((self.x0, self.y0, self.x1, self.y1), vertical)
        last = _along(self.last, vertical)
        glyph = _along(box, vertical)
        thickness = max(line[3] - line[1], 1e-6)
        overlap = (min(line[3], glyph[3]) - max(line[1], glyph[1])) / max(min(thickness, glyph[3] - glyph[1]), 1e-6)
        # Distance to the previous glyph on either side (right-to-left scripts run backwards).
        gap = max(glyph[0] - last[2], last[0] - glyph[2], 0.0)
        return overlap, gap, thickness

    def direction_for(self, box: tuple[float, float, float, float]) -> bool | None:
        """The run direction (vertical?) in which the glyph continues this line, or None."""
        for vertical in (False, True) if self.vertical is None else (self.vertical,):
            overlap, gap, thickness = self._gap(box, vertical)
            if overlap >= _SAME_LINE_OVERLAP and gap <= _COLUMN_GAP * thickness:
                return vertical
        return None

    def add(self, char: _Char, vertical: bool) -> None:
        assert char.box is not None  # glyphs without a box never start or join a line
        _, gap, thickness = self._gap(char.box, vertical)
        box = char.box
        if self.pending_space or gap > _IMPLIED_SPACE * thickness:
            self.units.append(" ")
            self.words.append(([*box], [char.text]))
        else:
            word_box, word_units = self.words[-1]
            word_units.append(char.text)
            word_box[:] = [min(word_box[0], box[0]), min(word_box[1], box[1]), max(word_box[2], box[2]),
                           max(word_box[3], box[3])]
        self.pending_space = False
        self.vertical = vertical
        self.units.append(char.text)
        self.x0, self.y0 = min(self.x0, box[0]), min(self.y0, box[1])
        self.x1, self.y1 = max(self.x1, box[2]), max(self.y1, box[3])
        self.last = box

    def to_text_line(self, width: int, height: int) -> TextLine:
        text = self.text
        cleaned = ((_clean("".join(units)), box) for box, units in self.words)
        found = tuple(Word(word, _corners(box, width, height)) for word, box in cleaned if word)
        words = None if self.vertical or [w.text for w in found] != text.split() else found
        box = _corners([self.x0, self.y0, self.x1, self.y1], width, height)
        return TextLine(text=text, confidence=1.0, bounding_box=box, words=words)


def _corners(box: list[float], width: int, height: int) -> list[list[int]]:
    """A box's corners in whole pixels, grown outward and clipped to the page."""
    x0, y0 = min(max(math.floor(box[0]), 0), width), min(max(math.floor(box[1]), 0), height)
    x1, y1 = min(max(math.ceil(box[2]), 0), width), min(max(math.ceil(box[3]), 0), height)
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def _group_lines(chars: list[_Char]) -> list[_Line]:
    """Characters in content order -> lines: a new line starts at a line break, when the
    next glyph does not sit on the current line, or after a column-sized gap. Lines run
    left-right or (on pages turned by /Rotate, or vertical scripts) top-bottom."""
    lines: list[_Line] = []
    current: _Line | None = None
    for char in chars:
        if char.text == "\n":
            current = None
        elif char.text == " ":
            if current is not None:
                current.pending_space = True
        elif char.box is None:
            if current is not None:  # zero-size glyph (e.g. a combining mark): keep its text
                current.units.append(char.text)
        elif current is not None and (vertical := current.direction_for(char.box)) is not None:
            current.add(char, vertical)
        else:
            x0, y0, x1, y1 = char.box
            current = _Line(x0, y0, x1, y1, [char.text], char.box)
            lines.append(current)
    return lines
