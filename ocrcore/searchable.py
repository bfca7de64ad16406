"""Searchable PDF output (output_format=pdf): the pages as they were, plus an invisible text layer.

API (bytes in, bytes out; no service imports):

    searchable_pdf(source_pdf, images, pages) -> bytes   # exactly one of source_pdf / images
    pdf_with_text_layer(source_pdf: bytes, pages: list[PageResult]) -> bytes
    images_to_pdf(images: list[bytes], pages: list[PageResult]) -> bytes

PDF input: every page of `source_pdf` is kept (pages outside `pages`, e.g. not in
page_range, included). Each PageResult with source "ocr" gets an invisible text layer
(render mode 3) on its page, `page` being the 1-based page number and width/height the
pixel frame its boxes are in (the 200 DPI rendering of ocrcore.document, page rotation
and crop box included). Pages with source "text_layer" or without a result are not
touched: their objects and streams are written as they were read (qpdf copies streams
raw here: no decoding, re-encoding or rasterising). On an OCRed page the original
content streams are kept and wrapped in q ... Q, our layer drawn after them.

Image input: one page per image (pages[i] is the result of images[i]), sized by the
file's DPI (300 when it has none), the image embedded by img2pdf without recompression
where the format allows (JPEG and JPEG 2000 as they are, PNG data as Flate, alpha as an
SMask), then the same text layer. EXIF orientation: our boxes are in the transposed
image's frame (ocrcore/decode.py), so rotations 90/180/270 become the page's /Rotate
(the JPEG stays untouched) and the rare mirrored orientations (2, 4, 5, 7), which /Rotate
cannot express, are transposed and re-encoded losslessly (PNG) first.

The layer: in the given order (reading order), one BT..ET per line; each word placed
at its position on the line's baseline and stretched with Tz to its width, a space
shown after every word but the last so extraction gives the spaces. Word positions come
from `line.words` when a TextLine carries them (items with `text` and a `bounding_box`
quad in the same frame), else from the line's quad in proportion to character counts.
Lines whose box is tall (height >= 1.5 x width, as ocrcore/crop.py reads them) run top
to bottom. The font is ocrcore/glyphless.py (any Unicode text, extracts correctly).
"""
from __future__ import annotations

import dataclasses
import io
import math
import re
import statistics
import unicodedata
import zlib
from collections.abc import Callable
from typing import Any

import img2pdf
import pikepdf
from pikepdf.canvas import ContentStreamBuilder
from PIL import Image, ImageOps

from .decode import _high_depth_to_l
from .formats import PageResult
from .glyphless import ADVANCE, DESCENT, GlyphlessFont
from .layout import analyze_document
from .types import TextLine

DEFAULT_IMAGE_DPI = 300
# A resolution outside this range is not a real scan's (e.g. 1 dpi from "unit-less"
# headers); the default is assumed instead.
_PLAUSIBLE_DPI = (20, 9600)
_MIRRORED_ORIENTATIONS = (2, 4, 5, 7)
_VERTICAL_RATIO = 1.5  # as ocrcore/crop.py: a box this much taller than wide is read top-down
_HIGH_DEPTH = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # PIL's 16/32-bit grey modes

Point = tuple[float, float]


def searchable_pdf(source_pdf: bytes | None, images: list[bytes] | None, pages: list[PageResult]) -> bytes:
    """The searchable PDF of one input: a PDF (`source_pdf`) or image files (`images`)."""
    if (source_pdf is None) == (images is None):
        raise ValueError("give either source_pdf or images")
    if source_pdf is not None:
        return pdf_with_text_layer(source_pdf, pages)
    assert images is not None
    return images_to_pdf(images, pages)


def pdf_with_text_layer(source_pdf: bytes, pages: list[PageResult]) -> bytes:
    """`source_pdf` with an invisible text layer on each page whose result has source "ocr"."""
    with pikepdf.open(io.BytesIO(source_pdf)) as pdf:
        font = GlyphlessFont(pdf)
        for result in pages:
            if result.source != "ocr":
                continue
            if not 1 <= result.page <= len(pdf.pages):
                raise ValueError(f"page {result.page} is not in the document")
            page = pdf.pages[result.page - 1]
            name = _free_name(page.obj)
            stream = _text_layer(result, _pixel_to_user(page.obj, result.width, result.height), font, name)
            if stream is not None:
                _add_layer(pdf, page, stream, font, name)
        font.finish()
        out = io.BytesIO()
        # Streams are copied as stored: original content and images keep their exact bytes.
        pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
        return out.getvalue()


def images_to_pdf(images: list[bytes], pages: list[PageResult]) -> bytes:
    """One page per image at its physical size, with the text layer of pages[i] on page i."""
    if len(images) != len(pages) or not images:
        raise ValueError("one PageResult per image, and at least one image")
    prepared = [_prepare_image(data) for data in images]
    sizes = iter([dpi for _, dpi in prepared])

    def layout(width_px: int, height_px: int, _file_dpi) -> tuple[float, float, float, float]:
        # img2pdf calls this once per image, in order (first frames only); the DPI is ours.
        x_dpi, y_dpi = next(sizes)
        width, height = width_px * 72 / x_dpi, height_px * 72 / y_dpi
        return width, height, width, height

    pdf = img2pdf.convert(
        *[data for data, _ in prepared], layout_fun=layout, first_frame_only=True,
        rotation=img2pdf.Rotation.ifvalid, nodate=True, producer="ocrserve",
    )
    numbered = [dataclasses.replace(page, page=i) for i, page in enumerate(pages, start=1)]
    return pdf_with_text_layer(pdf, numbered)


def _prepare_image(data: bytes) -> tuple[bytes, tuple[float, float]]:
    """(bytes for img2pdf, (x, y) DPI of those bytes' pixel axes)."""
    with Image.open(io.BytesIO(data)) as image:
        dpi = image.info.get("dpi")
        if not (
            isinstance(dpi, tuple) and len(dpi) == 2
            and all(_PLAUSIBLE_DPI[0] <= float(v) <= _PLAUSIBLE_DPI[1] for v in dpi)
        ):
            dpi = (DEFAULT_IMAGE_DPI, DEFAULT_IMAGE_DPI)
        dpi = (float(dpi[0]), float(dpi[1]))
        orientation = image.getexif().get(0x0112)
        if orientation in _MIRRORED_ORIENTATIONS:
            image.seek(0)
            upright = ImageOps.exif_transpose(image)
            if orientation in (5, 7):  # transposed across the diagonal: the axes swap
                dpi = (dpi[1], dpi[0])
            out = io.BytesIO()
            upright.save(out, "PNG")  # lossless; the one case where we re-encode
            return out.getvalue(), dpi
        if image.format not in ("JPEG", "PNG", "TIFF", "GIF", "JPEG2000") or image.mode in _HIGH_DEPTH:
            # img2pdf embeds these formats' data; others (WebP, BMP, ...) go as lossless PNG,
            # and so do 16-bit and float TIFFs, which img2pdf refuses: 16-bit grey as 16-bit
            # PNG, 32-bit grey scaled to 8 bits as ocrcore/decode.py reads it.
            image.seek(0)
            frame: Image.Image
            if image.mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
                frame = image
            elif image.mode in _HIGH_DEPTH:
                frame = _high_depth_to_l(image)
            else:
                frame = image.convert("RGB")
            out = io.BytesIO()
            frame.save(out, "PNG", exif=image.getexif())  # EXIF kept: img2pdf reads the orientation
            return out.getvalue(), dpi
    return data, dpi


# --- geometry -----------------------------------------------------------------


def _inherited(page: pikepdf.Dictionary, key: str):
    """A page attribute, looked up the page tree as PDF inheritance says (32000-1 7.7.3.4)."""
    node: Any = page
    depth = 0
    while node is not None and depth < 64:
        if key in node:
            return node[key]
        node, depth = node.get("/Parent"), depth + 1
    return None


def _box(value) -> tuple[float, float, float, float] | None:
    try:
        x0, y0, x1, y1 = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _pixel_to_user(page: pikepdf.Dictionary, width: int, height: int) -> Callable[[Point], Point]:
    """Map a point of the page's rendering (width x height pixels, y down) to user space.

    The rendering shows the crop box (clipped to the media box) turned by /Rotate
    clockwise, stretched to the bitmap, as PDFium renders (ocrcore/document.py).
    """
    media = _box(_inherited(page, "/MediaBox")) or (0.0, 0.0, 612.0, 792.0)
    crop = _box(_inherited(page, "/CropBox")) or media
    x0, y0 = max(crop[0], media[0]), max(crop[1], media[1])
    x1, y1 = min(crop[2], media[2]), min(crop[3], media[3])
    if x1 <= x0 or y1 <= y0:  # no overlap: PDFium shows the media box
        x0, y0, x1, y1 = media
    rotate = _inherited(page, "/Rotate")
    rotate = int(rotate) % 360 if rotate is not None else 0
    rotate -= rotate % 90
    shown_w, shown_h = (x1 - x0, y1 - y0) if rotate in (0, 180) else (y1 - y0, x1 - x0)
    sx, sy = width / shown_w, height / shown_h

    def to_user(point: Point) -> Point:
        dx, dy = point[0] / sx, point[1] / sy  # points from the shown page's top-left
        if rotate == 90:
            return x0 + dy, y0 + dx
        if rotate == 180:
            return x1 - dx, y0 + dy
        if rotate == 270:
            return x1 - dy, y1 - dx
        return x0 + dx, y1 - dy

    return to_user


# --- the text layer -------------------------------------------------------------


def _text_layer(
    result: PageResult, to_user: Callable[[Point], Point], font: GlyphlessFont, font_name: pikepdf.Name
) -> bytes | None:
    """The content stream drawing the page's lines invisibly, or None when there are none."""
    builder = ContentStreamBuilder()
    builder.push()
    builder.set_text_rendering(3)  # invisible: neither fill nor stroke
    wrote = False
    layout = analyze_document([result])[0]
    for block in layout.blocks:  # in reading order: copy-paste and pdftotext read the columns in turn
        lines = [layout.lines[k] for k in block.lines]
        # One font size for a block's lines (the median line height): lines of one size and
        # pitch are what text extractors (pdftotext, viewers' selection) join into one flow.
        size = statistics.median(_height(line) for line in lines) if lines else 0.0
        for line in lines:
            wrote |= _line(builder, line, to_user, font, font_name, size)
    builder.pop()
    return builder.build() if wrote else None


def _line(
    builder: ContentStreamBuilder,
    line: TextLine,
    to_user: Callable[[Point], Point],
    font: GlyphlessFont,
    font_name: pikepdf.Name,
    block_size: float = 0.0,
) -> bool:
    p0, p1, p2, p3 = [(float(x), float(y)) for x, y in line.placement_box]
    along = _square(_mean(_sub(p1, p0), _sub(p2, p3)))  # top and bottom edges, left to right
    across = _square(_mean(_sub(p3, p0), _sub(p2, p1)))  # left and right edges, top to bottom
    text = _clean(line.text)
    if _norm(across) >= _VERTICAL_RATIO * _norm(along) and len(text) > 1:
        # Read top to bottom, glyph tops facing right (crop.py turns such crops counter-clockwise).
        direction, up, start = across, along, p0
    else:
        direction, up, start = along, (-across[0], -across[1]), p3
    length, size = _norm(direction), _norm(up)
    if not text.strip() or length < 1 or size < 1:
        return False
    u = (direction[0] / length, direction[1] / length)
    w = (up[0] / size, up[1] / size)
    if direction is along and 0.8 * size <= block_size <= 1.3 * size and len(text.split()) >= 3:
        # The block's size, hung from the line's top edge (ascenders are the rule; a line
        # without descenders has its bottom edge on the baseline, so the bottom would drop
        # its baseline by the descent and break the block's even pitch). Only for lines of
        # running text within the descent's difference of it: a line of other text, or a
        # number or word alone, keeps its own box.
        size = block_size
        drop = size * (1000 + DESCENT) / 1000
        baseline = (p0[0] - w[0] * drop, p0[1] - w[1] * drop)
    else:
        # Baseline above the bottom edge by the descent, so ascent..descent fills the box.
        baseline = (start[0] + w[0] * size * -DESCENT / 1000, start[1] + w[1] * size * -DESCENT / 1000)
    words = _words(line, text, start, u, length)
    if not words:
        return False
    origin = to_user((0.0, 0.0))
    a, b = _sub(to_user(u), origin)
    c, d = _sub(to_user(w), origin)
    builder.begin_text()
    builder.set_text_font(font_name, _num(size))
    for i, (word, offset, span) in enumerate(words):
        shown = word + (" " if i < len(words) - 1 else "")
        natural = len(shown) * size * ADVANCE / 1000
        if span <= 0 or natural <= 0:
            continue
        e, f = to_user((baseline[0] + u[0] * offset, baseline[1] + u[1] * offset))
        builder.set_text_matrix(pikepdf.Matrix(*(_num(v) for v in (a, b, c, d, e, f))))
        builder.set_text_horizontal_scaling(_num(100 * span / natural))
        builder.show_text(font.encode(shown))
    builder.end_text()
    return True


def _height(line: TextLine) -> float:
    """The line's extent across its text (the shorter side of its box)."""
    p0, p1, p2, p3 = [(float(x), float(y)) for x, y in line.placement_box]
    return min(_norm(_mean(_sub(p1, p0), _sub(p2, p3))), _norm(_mean(_sub(p3, p0), _sub(p2, p1))))


def _square(edge: Point) -> Point:
    """An edge whose corners are in whole pixels rises at most one pixel by rounding alone:
    such a rise is no tilt (on a short word box it would turn the text by 10 degrees or more)."""
    dx, dy = edge
    if abs(dy) <= 1 < abs(dx):
        return (dx, 0.0)
    if abs(dx) <= 1 < abs(dy):
        return (0.0, dy)
    return edge


def _words(line: TextLine, text: str, start: Point, u: Point, length: float) -> list[tuple[str, float, float]]:
    """(word, offset of its start along the line, span to the next word's start or its end)."""
    boxes = getattr(line, "words", None)
    if boxes:
        # Real word boxes: project each onto the line's direction.
        placed = []
        for word in boxes:
            word_text = _clean(getattr(word, "text", ""))
            points = getattr(word, "bounding_box", None)
            if not word_text.strip() or not points:
                continue
            offsets = [(float(x) - start[0]) * u[0] + (float(y) - start[1]) * u[1] for x, y in points]
            placed.append((word_text.strip(), min(offsets), max(offsets)))
        placed.sort(key=lambda item: item[1])
    else:
        per_char = length / len(text)
        placed = [
            (m.group(), m.start() * per_char, m.end() * per_char) for m in re.finditer(r"\S+", text)
        ]
    # A word and the space after it reach the next word; the last word its own end.
    return [
        (word, begin, (placed[i + 1][1] if i + 1 < len(placed) else end) - begin)
        for i, (word, begin, end) in enumerate(placed)
    ]


def _clean(text: str) -> str:
    """Text safe to map: no control characters or lone surrogates (they extract as garbage)."""
    return "".join(
        " " if ch in "\t\n\r" else ch
        for ch in text
        if ch in "\t\n\r" or unicodedata.category(ch) not in ("Cc", "Cs")
    )


# --- page plumbing ------------------------------------------------------------


def _free_name(page: pikepdf.Dictionary) -> pikepdf.Name:
    resources = _inherited(page, "/Resources")
    fonts = resources.get("/Font") if isinstance(resources, pikepdf.Dictionary) else None
    taken = set(fonts.keys()) if isinstance(fonts, pikepdf.Dictionary) else set()
    name, n = "/OcrText", 0
    while name in taken:
        n += 1
        name = f"/OcrText{n}"
    return pikepdf.Name(name)


def _add_layer(pdf: pikepdf.Pdf, page: pikepdf.Page, layer: bytes, font: GlyphlessFont, name: pikepdf.Name) -> None:
    """Wrap the page's own content in q..Q, append the layer, and give the page our font.

    The page gets its own copies of its (maybe inherited or shared) resource and font
    dictionaries, so no other page's objects change.
    """
    resources = _inherited(page.obj, "/Resources")
    # A shallow copy of each dictionary (pikepdf's stubs only admit a Mapping here).
    own = pikepdf.Dictionary(resources) if isinstance(resources, pikepdf.Dictionary) else pikepdf.Dictionary()  # type: ignore[arg-type]
    fonts = own.get("/Font")
    own_fonts = pikepdf.Dictionary(fonts) if isinstance(fonts, pikepdf.Dictionary) else pikepdf.Dictionary()  # type: ignore[arg-type]
    own_fonts[name] = font.font
    own["/Font"] = own_fonts
    page.obj["/Resources"] = own
    # Content the page's own streams left unbalanced (a CTM, a clip) must not move our layer.
    page.contents_add(_flate(pdf, b"q\n"), prepend=True)
    page.contents_add(_flate(pdf, b"Q\n" + layer), prepend=False)


def _flate(pdf: pikepdf.Pdf, data: bytes) -> pikepdf.Stream:
    stream = pdf.make_stream(b"")
    stream.write(zlib.compress(data, 9), filter=pikepdf.Name.FlateDecode)
    return stream


def _sub(a: Point, b: Point) -> Point:
    return a[0] - b[0], a[1] - b[1]


def _mean(a: Point, b: Point) -> Point:
    return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2


def _norm(v: Point) -> float:
    return math.hypot(v[0], v[1])


def _num(value: float) -> float:
    """Rounded, so the stream carries short numbers (0.001 pt is far below a pixel)."""
    return round(value, 4) if abs(value) < 10 else round(value, 3)
