"""Searchable PDF output: real OCR in, the text read back out by pdftotext and pdfium."""
from __future__ import annotations

import io
import shutil

import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from ocrcore.document import open_pdf
from ocrcore.formats import PageResult
from ocrcore.searchable import images_to_pdf, pdf_with_text_layer, searchable_pdf
from tests.core import pdfmaker
from tests.core.searchcheck import DEJAVU, check_extraction, contents_raw, pdftotext_words, scan_page, three_page_scan
from tests.sroie import SROIE

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")

RECEIPTS = [SROIE / "img" / "000.jpg", SROIE / "img" / "001.jpg"]


@pytest.fixture(scope="module")
def scanned_pdf() -> bytes:
    return three_page_scan()


def run_pdf(engine, data: bytes) -> list[PageResult]:
    """What worker/processing.py does per page: text layer when usable, else OCR."""
    pages = []
    with open_pdf(data) as document:
        for index in range(document.page_count):
            page = document.prepare_page(index)
            if page.lines is not None:
                pages.append(PageResult(index + 1, page.width, page.height, "text_layer", page.lines))
            else:
                pages.append(PageResult(index + 1, page.width, page.height, "ocr", engine.run(page.image).lines))
    return pages


def run_images(engine, images: list[bytes]) -> list[PageResult]:
    results = [engine.run(data) for data in images]
    return [PageResult(1, r.width, r.height, "ocr", r.lines) for r in results]


def test_scanned_pdf_becomes_searchable_in_place(engine, scanned_pdf):
    pages = run_pdf(engine, scanned_pdf)
    assert [p.source for p in pages] == ["ocr"] * 3
    assert any("识别" in line.text for line in pages[1].lines), "the CJK page must be read as CJK"
    out = searchable_pdf(scanned_pdf, None, pages)
    figures = check_extraction(out, pages)
    print(f"scan: F1 min {min(figures['f1']):.3f}, IoU min {min(figures['iou']):.2f} "
          f"mean {sum(figures['iou']) / len(figures['iou']):.2f} over {len(figures['iou'])} line reads")
    # No recompression: the layer costs a few KB per page (font once), not a re-encoded scan.
    print(f"scan: {len(scanned_pdf)} -> {len(out)} bytes (+{len(out) - len(scanned_pdf)})")
    assert len(out) <= len(scanned_pdf) * 1.05 + 4096 * len(pages)
    # The pages look exactly as before: same boxes, same images, same pixels.
    with pikepdf.open(io.BytesIO(scanned_pdf)) as before, pikepdf.open(io.BytesIO(out)) as after:
        assert len(before.pages) == len(after.pages)
        for old, new in zip(before.pages, after.pages):
            for key in ("/MediaBox", "/CropBox", "/Rotate"):
                assert repr(old.obj.get(key)) == repr(new.obj.get(key))
            assert [im.read_raw_bytes() for im in old.get_images().values()] == [
                im.read_raw_bytes() for im in new.get_images().values()
            ]
            assert b"3 Tr" in new.obj.Contents[-1].read_bytes()
    assert rendered(scanned_pdf) == rendered(out)


def rendered(data: bytes, scale: float = 0.5) -> list[bytes]:
    document = pdfium.PdfDocument(data)
    try:
        return [document[i].render(scale=scale).to_numpy().tobytes() for i in range(len(document))]
    finally:
        document.close()


def test_receipt_images_become_one_page_each_with_the_jpeg_untouched(engine):
    images = [path.read_bytes() for path in RECEIPTS]
    pages = run_images(engine, images)
    out = searchable_pdf(None, images, pages)
    figures = check_extraction(out, [PageResult(i, p.width, p.height, p.source, p.lines)
                                     for i, p in enumerate(pages, start=1)])
    print(f"receipts: F1 min {min(figures['f1']):.3f}, IoU min {min(figures['iou']):.2f} "
          f"over {len(figures['iou'])} line reads; {sum(map(len, images))} -> {len(out)} bytes")
    with pikepdf.open(io.BytesIO(out)) as pdf:
        assert len(pdf.pages) == 2
        for page, data, result in zip(pdf.pages, images, pages):
            (image,) = page.get_images().values()
            assert image.Filter == pikepdf.Name.DCTDecode and image.read_raw_bytes() == data  # passthrough
            # Physical size from the file's 150 DPI.
            assert [float(v) for v in page.MediaBox] == pytest.approx(
                [0, 0, result.width * 72 / 150, result.height * 72 / 150], abs=0.01
            )
    assert len(out) <= sum(map(len, images)) * 1.05 + 4096 * len(images)


def test_text_layer_pages_stay_byte_identical_and_only_the_scan_gets_a_layer(engine):
    """A report with a real text layer (pages 1-2) and a scanned receipt (page 3)."""
    with pikepdf.open(io.BytesIO(pdfmaker.quarterly_report_pdf())) as pdf, \
            pikepdf.open(io.BytesIO(pdfmaker.image_pdf([Image.open(RECEIPTS[0])], resolution=150))) as scan:
        pdf.pages.append(scan.pages[0])
        buffer = io.BytesIO()
        pdf.save(buffer)
    source = buffer.getvalue()
    pages = run_pdf(engine, source)
    assert [p.source for p in pages] == ["text_layer", "text_layer", "ocr"]
    out = pdf_with_text_layer(source, pages)
    with pikepdf.open(io.BytesIO(source)) as before, pikepdf.open(io.BytesIO(out)) as after:
        assert len(before.pages) == len(after.pages) == 3
        for index, (old, new) in enumerate(zip(before.pages, after.pages)):
            for key in ("/MediaBox", "/CropBox", "/Rotate"):
                assert repr(old.obj.get(key)) == repr(new.obj.get(key))
            old_images = [im.read_raw_bytes() for im in old.get_images().values()]
            assert old_images == [im.read_raw_bytes() for im in new.get_images().values()]
            if index < 2:  # not OCRed: the same content streams, raw bytes, and resources
                assert contents_raw(old) == contents_raw(new)
                assert old.obj.Resources.unparse(resolved=True) == new.obj.Resources.unparse(resolved=True)
            else:  # OCRed: its own content kept whole, inside q .. Q, the layer after it
                assert contents_raw(old)[0] in contents_raw(new)
                assert len(old_images) == 1
    check_extraction(out, [pages[2]])
    # The report's own text layer still reads as before.
    with open_pdf(out) as document:
        assert [line.text for line in document.text_lines(0)] == [line.text for line in pages[0].lines]


def exif_jpeg(image: Image.Image, orientation: int) -> bytes:
    """`image` stored so that EXIF `orientation` shows it as it is (what a camera writes)."""
    stored = {
        1: image, 3: image.transpose(Image.Transpose.ROTATE_180),
        5: image.transpose(Image.Transpose.TRANSPOSE), 6: image.transpose(Image.Transpose.ROTATE_90),
    }[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=90, exif=exif.tobytes(), dpi=(200, 200))
    return out.getvalue()


@pytest.mark.parametrize("orientation", [6, 3, 5])
def test_exif_orientation_puts_the_text_where_the_upright_image_shows_it(engine, orientation):
    upright = scan_page(["Turned by the camera", "Total amount 56.70"], DEJAVU, width=700, height=400)
    data = exif_jpeg(upright, orientation)
    pages = run_images(engine, [data])
    assert (pages[0].width, pages[0].height) == upright.size  # OCR saw it upright
    out = images_to_pdf([data], pages)
    check_extraction(out, pages)
    with pikepdf.open(io.BytesIO(out)) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        if orientation in (3, 6):  # turned by /Rotate, the JPEG as it was
            assert image.read_raw_bytes() == data
            assert int(pdf.pages[0].obj.Rotate) == {3: 180, 6: 90}[orientation]
        else:  # mirrored: re-encoded upright, losslessly
            assert image.Filter != pikepdf.Name.DCTDecode
    document = pdfium.PdfDocument(out)
    assert document.get_page_size(0) == pytest.approx((700 * 72 / 200, 400 * 72 / 200), abs=0.01)
    document.close()


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_boxes_land_on_turned_and_cropped_pages(rotation):
    """Synthetic lines (one of them skewed, one vertical) on a page with an offset crop box."""
    from ocrcore.types import TextLine

    source = pdfmaker.raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Rotate %d >>" % rotation,  # inherited
        b"<< /Type /Page /Parent 2 0 R /MediaBox [-50 -60 562 732] /CropBox [10 20 500 700] >>",
    ])
    with open_pdf(source) as document:
        width, height = document.pixel_size(0)
    lines = [
        TextLine("Hello searchable world", 0.99, [[100, 120], [700, 120], [700, 170], [100, 170]]),
        TextLine("skewed line here", 0.99, [[120, 300], [620, 317], [618, 367], [118, 350]]),  # 2 degrees
        TextLine("縦書き", 0.99, [[900, 100], [960, 100], [960, 400], [900, 400]]),
        TextLine("最后 一行 text", 0.99, [[200, 600], [760, 600], [760, 660], [200, 660]]),
    ]
    page = PageResult(1, width, height, "ocr", lines)
    out = pdf_with_text_layer(source, [page])
    check_extraction(out, [page])


def test_word_boxes_are_used_when_a_line_carries_them():
    from dataclasses import dataclass, field

    from ocrcore.types import TextLine

    @dataclass(frozen=True)
    class Word:
        text: str
        bounding_box: list[list[int]]

    @dataclass(frozen=True)
    class WordLine(TextLine):
        words: list[Word] = field(default_factory=list)

    def quad(x0, y0, x1, y1):
        return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]

    # A short word far from a long one: character counts alone would misplace both.
    line = WordLine("ab wonderful", 0.9, quad(100, 100, 900, 150),
                    [Word("ab", quad(100, 100, 160, 150)), Word("wonderful", quad(600, 100, 900, 150))])
    source = pdfmaker.blank_pdf(1)
    with open_pdf(source) as document:
        width, height = document.pixel_size(0)
    page = PageResult(1, width, height, "ocr", [line])
    _, words = pdftotext_words(pdf_with_text_layer(source, [page]), page)
    boxes = {w.text: w.box for w in words}
    assert boxes["ab"][0] == pytest.approx(100, abs=3) and boxes["ab"][2] < 600
    assert boxes["wonderful"][0] == pytest.approx(600, abs=3)
    assert boxes["wonderful"][2] == pytest.approx(900, abs=3)


def test_output_opens_in_pdfium_and_needs_one_input():
    with pytest.raises(ValueError):
        searchable_pdf(None, None, [])
    with pytest.raises(ValueError):
        searchable_pdf(pdfmaker.blank_pdf(1), [b"x"], [])
    out = searchable_pdf(pdfmaker.blank_pdf(2), None, [])  # nothing OCRed: the pages as they were
    document = pdfium.PdfDocument(out)
    assert len(document) == 2
    document.close()


@pytest.mark.parametrize("fmt, mode", [("WEBP", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("TIFF", "CMYK"), ("BMP", "L")])
def test_other_image_formats_embed_losslessly_with_the_layer(fmt, mode):
    from ocrcore.decode import decode_image
    from ocrcore.types import TextLine
    from tests.core.textimages import encode, text_image

    data = encode(text_image().convert(mode), fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    height, width = decode_image(data).shape[:2]
    page = PageResult(1, width, height, "ocr", [TextLine("INVOICE NUMBER", 0.9, [[28, 28], [300, 28], [300, 60], [28, 60]])])
    out = images_to_pdf([data], [page])
    with pikepdf.open(io.BytesIO(out)) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert image.Filter == pikepdf.Name.FlateDecode
        assert ("/SMask" in image) == (mode == "RGBA")  # alpha kept as a soft mask
    check_extraction(out, [page])


def test_pdf_is_a_binary_format_render_refuses():
    from ocrcore.formats import BINARY_FORMATS, MIMETYPES, UnknownFormatError, render

    assert MIMETYPES["pdf"] == "application/pdf" and "pdf" in BINARY_FORMATS
    with pytest.raises(UnknownFormatError):
        render([], 0.0, "pdf", is_document=True)


@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_high_depth_tiffs_embed_as_png_data(dtype):
    """16-bit and float grey TIFFs (scanners write them), which img2pdf refuses as they are:
    16-bit goes as 16-bit PNG data, float scaled to 8 bits as the decoder reads it."""
    import numpy as np

    from ocrcore.decode import decode_image
    from ocrcore.types import TextLine
    from tests.core.textimages import text_image

    grey = np.asarray(text_image().convert("L"), dtype=np.float64) / 255.0
    values = (grey * 65535).astype(np.uint16) if dtype == "uint16" else grey.astype(np.float32)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, "TIFF")
    data = buffer.getvalue()
    height, width = decode_image(data).shape[:2]
    page = PageResult(1, width, height, "ocr", [TextLine("INVOICE NUMBER", 0.9, [[28, 28], [300, 28], [300, 60], [28, 60]])])
    out = images_to_pdf([data], [page])
    with pikepdf.open(io.BytesIO(out)) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert int(image.BitsPerComponent) == (16 if dtype == "uint16" else 8)
    check_extraction(out, [page])


def test_the_font_program_carries_no_time(monkeypatch):
    """The same job makes the same PDF whichever process writes it: fontTools stamps fonts with
    the current time unless told not to."""
    import time

    from ocrcore.glyphless import font_program

    first = font_program.__wrapped__()
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 86400 * 400)
    assert font_program.__wrapped__() == first
