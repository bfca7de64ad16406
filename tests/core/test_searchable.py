"""Searchable PDF output: real OCR in, the text read back out by pdftotext and pdfium."""
from __future__ import annotations

import io
import shutil

import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrcore.document import open_pdf
from ocrcore.formats import PageResult
from ocrcore.searchable import images_to_pdf, pdf_with_text_layer, searchable_pdf
from tests.core import pdfmaker
from tests.core.searchcheck import line_matches, page_text, pdfium_chars, pdftotext_words, word_f1
from tests.sroie import SROIE

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
NOTO_CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
RECEIPTS = [SROIE / "img" / "000.jpg", SROIE / "img" / "001.jpg"]


def scan_page(lines: list[str], font_path: str, size: int = 34, width: int = 900, height: int = 1100) -> Image.Image:
    font = ImageFont.truetype(font_path, size)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((60, 80 + int(i * size * 2.2)), line, fill="black", font=font)
    return image


@pytest.fixture(scope="module")
def scanned_pdf() -> bytes:
    """Three scanned pages (JPEG images at 200 DPI, no text layer): English; Chinese and
    Japanese; English stored turned a quarter (shown upright by /Rotate 90) on a page whose
    crop box is offset inside a larger media box."""
    english = scan_page(["Quarterly report for the board", "Revenue grew by 12 percent",
                         "Costs stayed flat this year", "Invoice number 48213 paid"], DEJAVU)
    cjk = scan_page(["中文文本识别测试", "今天天气很好", "价格 12.50 元", "東京都千代田区"], NOTO_CJK, size=40)
    turned = scan_page(["Second quarter results", "Net income rose sharply", "Thank you for reading"],
                       DEJAVU).rotate(90, expand=True)
    data = pdfmaker.image_pdf([english, cjk, turned], resolution=200)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[2].obj
        w, h = (float(v) for v in page.MediaBox[2:])
        page.MediaBox = [-30, -40, w + 20, h + 10]
        page.CropBox = [-10, -20, w, h - 5]
        page.Rotate = 90
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


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


def check_extraction(data: bytes, pages: list[PageResult]) -> dict:
    """Word F1 of both extractors' page text against our text, and each line's IoU."""
    figures = {"f1": [], "iou": []}
    for page in pages:
        expected = page_text(page)
        for extract in (pdftotext_words, pdfium_chars):
            text, pieces = extract(data, page)
            f1 = word_f1(expected, text)
            assert f1 >= 0.99, f"{extract.__name__} page {page.page}: F1 {f1:.3f}\n{expected}\n---\n{text}"
            figures["f1"].append(f1)
            for ours, found, overlap in line_matches(page, pieces):
                assert overlap >= 0.7, f"{extract.__name__} page {page.page}: {ours!r} -> {found!r}, IoU {overlap:.2f}"
                figures["iou"].append(overlap)
    return figures


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
