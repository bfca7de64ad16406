"""Real PDFs for the tests, made on the fly (nothing binary is checked in).

Three makers:
- text_pdf: pages with a real text layer (DejaVu Sans embedded), built with PDFium itself;
- image_pdf: scanned-only pages (one JPEG per page, no text layer), built with Pillow;
- raw_pdf: a hand-written PDF from object bodies with a correct xref table, for the odd
  and hostile shapes the other two cannot produce (encryption, huge pages, many pages).
"""
from __future__ import annotations

import ctypes
import io
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LETTER = (612.0, 792.0)  # points


@dataclass(frozen=True)
class Text:
    """One run of text: baseline starts at (x, y) in PDF points, origin at the bottom left."""

    text: str
    x: float
    y: float
    size: float = 12.0


def text_pdf(pages: list[list[Text]], page_size: tuple[float, float] = LETTER, rotation: int = 0) -> bytes:
    """A PDF whose pages carry the given text runs as real text objects."""
    return overlay_text(None, pages, page_size=page_size, rotation=rotation)


def quarterly_report_pdf(*more_on_page_1: Text) -> bytes:
    """Two text-layer pages: a heading over a paragraph of two lines (and `more_on_page_1`),
    then a short second page. The core and the service tests read the same report."""
    return text_pdf([
        [
            Text("Quarterly Report", 72, 700, 20),
            Text("Revenue grew by 12 percent", 72, 650, 12),
            Text("Costs stayed flat", 72, 634, 12),
            *more_on_page_1,
        ],
        [Text("Second page text", 100, 400, 14)],
    ])


def overlay_text(
    base: bytes | None, pages: list[list[Text]], page_size: tuple[float, float] = LETTER, rotation: int = 0
) -> bytes:
    """Add text runs to the pages of `base` (or to new blank pages when base is None)."""
    pdf = pdfium.PdfDocument(base) if base is not None else pdfium.PdfDocument.new()
    try:
        font_bytes = FONT_PATH.read_bytes()
        font_buffer = (ctypes.c_uint8 * len(font_bytes)).from_buffer_copy(font_bytes)
        font = pdfium_c.FPDFText_LoadFont(pdf.raw, font_buffer, len(font_bytes), pdfium_c.FPDF_FONT_TRUETYPE, True)
        assert font, "PDFium could not load the test font"
        try:
            for index, runs in enumerate(pages):
                page = pdf[index] if base is not None else pdf.new_page(*page_size)
                for run in runs:
                    obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, run.size)
                    wide = ctypes.create_string_buffer((run.text + "\0").encode("utf-16-le"))
                    assert pdfium_c.FPDFText_SetText(obj, ctypes.cast(wide, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
                    pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, run.x, run.y)
                    pdfium_c.FPDFPage_InsertObject(page.raw, obj)  # the page now owns obj
                assert pdfium_c.FPDFPage_GenerateContent(page.raw)
                if rotation:
                    page.set_rotation(rotation)
                page.close()
        finally:
            pdfium_c.FPDFFont_Close(font)
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()
    finally:
        pdf.close()


def image_pdf(images: list[Image.Image], resolution: float = 200.0) -> bytes:
    """A scanned-only PDF: each image becomes one page, sized by `resolution` (pixels per inch)."""
    out = io.BytesIO()
    first, *rest = [im.convert("RGB") for im in images]
    first.save(out, "PDF", resolution=resolution, save_all=True, append_images=rest)
    return out.getvalue()


def wrap_in_form(pdf: bytes) -> bytes:
    """The same pages, each drawn through a form XObject (as some scanners and tools write them)."""
    source = pdfium.PdfDocument(pdf)
    target = pdfium.PdfDocument.new()
    try:
        for index in range(len(source)):
            width, height = source.get_page_size(index)
            page = target.new_page(width, height)
            page.insert_obj(source.page_as_xobject(index, target).as_pageobject())
            page.gen_content()
            page.close()
        out = io.BytesIO()
        target.save(out)
        return out.getvalue()
    finally:
        target.close()
        source.close()


def raw_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """Assemble objects 1..n (bodies without the `n 0 obj` wrapper) into a PDF with a valid xref.

    Object 1 must be the catalog.
    """
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer_extra,
        xref_at,
    )
    return bytes(out)


def blank_pdf(page_count: int, media_box: tuple[float, float, float, float] = (0, 0, *LETTER)) -> bytes:
    """`page_count` empty pages that all share one page object body (cheap even for thousands)."""
    box = _pdf_array(media_box)
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(page_count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, page_count),
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Resources << >> >>" % box] * page_count
    return raw_pdf(objects)


def helvetica_pdf(lines: list[tuple[str, float, float, float]], media_box=(0, 0, *LETTER)) -> bytes:
    """One page showing (text, x, y, size) runs in the unembedded standard Helvetica font.

    Text must be plain ASCII without parentheses or backslashes.
    """
    stream = b"".join(
        b"BT /F1 %s Tf %s %s Td (%s) Tj ET\n" % (_num(size), _num(x), _num(y), text.encode("ascii"))
        for text, x, y, size in lines
    )
    box = _pdf_array(media_box)
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>" % box,
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def _num(value: float) -> bytes:
    """A PDF number: plain decimal, never exponent notation (PDF has none)."""
    return (b"%.4f" % value).rstrip(b"0").rstrip(b".")


def _pdf_array(values) -> bytes:
    return b"[" + b" ".join(_num(v) for v in values) + b"]"


def encrypted_pdf() -> bytes:
    """A PDF protected by a user password (standard security handler, RC4 40-bit).

    The /O and /U entries are arbitrary, so no password - including the empty one -
    verifies, which is exactly what a reader sees for a password-protected file.
    """
    encrypt = (
        b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 "
        b"/O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> >>"
    )
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
            encrypt,
        ],
        trailer_extra=b"/Encrypt 4 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>] ",
    )


def image_xobject_pdf(width_px: int, height_px: int) -> bytes:
    """One page drawing a DeviceGray image that claims width_px x height_px pixels.

    The stream holds only a few bytes, like a decompression bomb's header would.
    """
    image = b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray " \
        b"/BitsPerComponent 8 /Length 4 >>\nstream\n\x00\x00\x00\x00\nendstream" % (width_px, height_px)
    content = b"q 612 0 0 792 0 0 cm /Im1 Do Q"
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            image,
        ]
    )
