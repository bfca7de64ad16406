"""PDF input: detection, page ranges, refusing bad PDFs, rendering and the text layer.

Every PDF here is made by the test itself (tests/core/pdfmaker.py): with PDFium (text
layers), Pillow (scans, from a real receipt) or by hand (encryption, hostile shapes).
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ocrcore.document import (
    DEFAULT_DPI,
    MAX_PAGE_IMAGE_PIXELS,
    DocumentError,
    PageRangeError,
    PdfEncryptedError,
    PdfInvalidError,
    PdfPageTooLargeError,
    PdfTooManyPagesError,
    is_pdf,
    open_pdf,
    parse_page_range,
)
from ocrcore.errors import OcrError
from tests.core.pdfmaker import (
    Text,
    blank_pdf,
    encrypted_pdf,
    helvetica_pdf,
    image_pdf,
    image_xobject_pdf,
    overlay_text,
    quarterly_report_pdf,
    text_pdf,
    wrap_in_form,
)
from tests.core.textimages import encode, text_image
from tests.sroie import RECEIPT

PT = DEFAULT_DPI / 72  # pixels per point at the default DPI


@pytest.fixture(scope="module")
def letter_pdf() -> bytes:
    """Two text-layer pages: a heading, body lines, a right-hand column; then a short page."""
    return quarterly_report_pdf(Text("TOTAL", 72, 500, 12), Text("12.50", 400, 500, 12))


@pytest.fixture(scope="module")
def receipt_scan() -> bytes:
    """A scanned-only PDF: one real receipt photo, no text layer, 200 DPI page size."""
    return image_pdf([Image.open(RECEIPT)], resolution=200)


def ink_bounds(image: np.ndarray, box=None) -> tuple[int, int, int, int] | None:
    """Bounding box (x0, y0, x1, y1) of dark pixels, optionally only inside box."""
    dark = image.min(axis=2) < 128
    if box is not None:
        mask = np.zeros_like(dark)
        x0, y0, x1, y1 = box
        mask[y0:y1, x0:x1] = True
        dark &= mask
    ys, xs = np.nonzero(dark)
    if not len(xs):
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def rect(line) -> tuple[int, int, int, int]:
    xs = [p[0] for p in line.bounding_box]
    ys = [p[1] for p in line.bounding_box]
    return min(xs), min(ys), max(xs), max(ys)


# ---------- detection and page ranges ----------


def test_is_pdf_looks_for_the_header_in_the_first_kilobyte(letter_pdf):
    assert is_pdf(letter_pdf)
    assert is_pdf(b"\x00" * 1000 + letter_pdf)  # junk before the header is tolerated, as readers do
    assert not is_pdf(b"\x00" * 1100 + letter_pdf)
    assert not is_pdf(encode(text_image(), "PNG"))
    assert not is_pdf(b"")


@pytest.mark.parametrize(
    "spec, count, expected",
    [
        (None, 4, [0, 1, 2, 3]),
        ("", 4, [0, 1, 2, 3]),
        ("0-2,6", 10, [0, 1, 2, 6]),
        (" 6 , 0-1,1 ", 10, [0, 1, 6]),
        ("0", 5, [0]),
        ("4", 5, [4]),
        ("2-2", 5, [2]),
        ("0,5-10,20", 21, [0, 5, 6, 7, 8, 9, 10, 20]),  # Marker's own example
    ],
)
def test_page_range_parses_zero_based_specs_like_marker(spec, count, expected):
    assert parse_page_range(spec, count) == expected


@pytest.mark.parametrize(
    "spec, message",
    [
        ("5", "out of range: the document has 5 pages, pages 0-4"),
        ("6", "out of range"),
        ("1-8", "out of range"),
        ("2-0", "backwards"),
        ("0-", "malformed"),
        ("-1", "malformed"),
        ("0,,1", "malformed"),
        ("0.5", "malformed"),
        ("one", "malformed"),
        ("\u0661", "malformed"),  # an Arabic-Indic digit is not a page number here
    ],
)
def test_bad_page_ranges_are_refused_with_a_reason(spec, message):
    with pytest.raises(PageRangeError, match=message) as info:
        parse_page_range(spec, 5)
    assert isinstance(info.value, ValueError) and isinstance(info.value, OcrError)


# ---------- refusing bad PDFs ----------


def test_encrypted_pdf_is_refused_as_password_protected():
    with pytest.raises(PdfEncryptedError, match="password"):
        open_pdf(encrypted_pdf())


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda pdf: pdf[: len(pdf) // 2], id="truncated"),
        pytest.param(lambda pdf: pdf[:40], id="header-only"),
        pytest.param(lambda pdf: b"%PDF-1.7\n" + bytes(range(256)) * 64, id="garbage-after-header"),
        pytest.param(lambda pdf: encode(text_image(), "PNG"), id="png"),
        pytest.param(lambda pdf: b"", id="empty"),
        pytest.param(lambda pdf: blank_pdf(0), id="zero-pages"),
    ],
)
def test_broken_or_foreign_bytes_are_refused(letter_pdf, make):
    with pytest.raises(PdfInvalidError) as info:
        open_pdf(make(letter_pdf))
    assert isinstance(info.value, DocumentError) and isinstance(info.value, ValueError)
    assert str(info.value)  # a message the gateway can show


def test_page_cap_counts_the_selected_pages():
    many = blank_pdf(201)
    with pytest.raises(PdfTooManyPagesError, match="201 pages selected; the limit is 200; use page_range"):
        open_pdf(many)
    with open_pdf(many, page_range="0-199") as doc:
        assert doc.page_count == 201
        assert doc.selected_pages == list(range(200))
    with pytest.raises(PdfTooManyPagesError, match="3 pages selected; the limit is 2"):
        open_pdf(blank_pdf(5), max_pages=2, page_range="0,2,4")
    with open_pdf(blank_pdf(5), max_pages=2, page_range="1,3") as doc:
        assert doc.selected_pages == [1, 3]


def test_page_range_is_checked_against_the_document():
    with pytest.raises(PageRangeError, match="pages 0-2"):
        open_pdf(blank_pdf(3), page_range="1-3")
    with pytest.raises(PageRangeError, match=r"has 1 page, page 0 \(0-based\)"):
        open_pdf(blank_pdf(1), page_range="1")


def test_absurd_page_size_is_refused_not_allocated():
    # 200 x 200 inches: 40000 px a side at 200 DPI; within the cap it would be 20 DPI.
    with open_pdf(blank_pdf(1, (0, 0, 14400, 14400))) as doc:
        with pytest.raises(PdfPageTooLargeError, match="too large"):
            doc.render(0)
        with pytest.raises(PdfPageTooLargeError):
            doc.text_lines(0)


def test_image_bomb_is_refused_before_decoding():
    side = int((MAX_PAGE_IMAGE_PIXELS * 1.1) ** 0.5)
    with open_pdf(image_xobject_pdf(side, side)) as doc:
        assert doc.text_lines(0) is None  # reading text never decodes images
        with pytest.raises(PdfPageTooLargeError, match="images"):
            doc.render(0)
    with open_pdf(image_xobject_pdf(2000, 2000)) as doc:
        assert doc.render(0, dpi=36).shape == (396, 306, 3)


def test_closed_document_refuses_use(letter_pdf):
    doc = open_pdf(letter_pdf)
    with doc:
        assert doc.page_count == 2
    with pytest.raises(ValueError, match="closed"):
        doc.render(0)
    doc.close()  # closing twice is harmless


# ---------- rendering ----------


def test_render_size_follows_dpi(letter_pdf):
    with open_pdf(letter_pdf) as doc:
        assert doc.page_size(0) == (612.0, 792.0)
        image = doc.render(0)
        assert image.shape == (2200, 1700, 3) and image.dtype == np.uint8 and image.flags.c_contiguous
        assert doc.pixel_size(0) == (1700, 2200)
        assert doc.render(0, dpi=100).shape == (1100, 850, 3)
        assert image[5, 5].tolist() == [255, 255, 255]  # white page
        assert ink_bounds(image) is not None


def test_pixel_cap_lowers_the_dpi_and_keeps_the_aspect(letter_pdf):
    with open_pdf(letter_pdf) as doc:
        dpi = doc.render_dpi(0, max_pixels=500_000)
        image = doc.render(0, max_pixels=500_000)
        height, width = image.shape[:2]
        assert width * height <= 500_000
        assert (width, height) == doc.pixel_size(0, max_pixels=500_000)
        assert 55 < dpi < 80
        assert abs(width / height - 612 / 792) < 0.01
        # The text layer uses the same frame as the capped rendering.
        full = {ln.text: rect(ln) for ln in doc.text_lines(0)}
        capped = {ln.text: rect(ln) for ln in doc.text_lines(0, max_pixels=500_000)}
        ratio = dpi / DEFAULT_DPI
        for text, box in capped.items():
            assert abs(box[0] - full[text][0] * ratio) <= 2 and abs(box[3] - full[text][3] * ratio) <= 2


def test_scanned_page_renders_at_its_pixels_and_has_no_text_layer(receipt_scan):
    receipt = Image.open(RECEIPT)
    with open_pdf(receipt_scan) as doc:
        assert doc.text_lines(0) is None
        image = doc.render(0)
        assert image.shape == (receipt.height, receipt.width, 3)
        # Same picture: the rendering matches the receipt pixels closely (JPEG re-encoding aside).
        original = np.asarray(receipt.convert("RGB"))[:, :, ::-1].astype(int)
        assert np.abs(image.astype(int) - original).mean() < 6
        page = doc.prepare_page(0)
        assert page.lines is None and page.image.shape == image.shape
        assert (page.width, page.height) == (receipt.width, receipt.height)


# ---------- the text layer ----------


def test_text_layer_lines_and_their_boxes(letter_pdf):
    with open_pdf(letter_pdf) as doc:
        lines = doc.text_lines(0)
        image = doc.render(0)
    assert [ln.text for ln in lines] == [
        "Quarterly Report",
        "Revenue grew by 12 percent",
        "Costs stayed flat",
        "TOTAL",
        "12.50",
    ]
    assert all(ln.confidence == 1.0 for ln in lines)
    for line in lines:
        (x0, y0), (x1, y1b), (x1b, y1), (x0b, y1c) = line.bounding_box
        assert (x0, x1, y0) == (x0b, x1b, y1b) and y1 == y1c  # an axis-aligned rectangle, clockwise
    # "Revenue..." was drawn at x=72 pt with its baseline at y=650 pt (from the bottom), 12 pt.
    x0, y0, x1, y1 = rect(lines[1])
    baseline = (792 - 650) * PT
    assert abs(x0 - 72 * PT) <= 3
    assert y0 < baseline - 8 * PT and baseline < y1 < baseline + 4 * PT  # caps above, descenders below
    assert 12 * PT <= y1 - y0 <= 12 * 1.3 * PT
    # The boxes cover exactly the ink of the rendered page.
    for line in lines:
        ink = ink_bounds(image, rect(line))
        assert ink is not None
        box = rect(line)
        assert box[0] - 1 <= ink[0] and ink[2] <= box[2] + 1 and box[1] <= ink[1] and ink[3] <= box[3]
    union = (min(rect(ln)[0] for ln in lines), min(rect(ln)[1] for ln in lines),
             max(rect(ln)[2] for ln in lines), max(rect(ln)[3] for ln in lines))
    page_ink = ink_bounds(image)
    assert union[0] - 1 <= page_ink[0] and page_ink[2] <= union[2] + 1
    assert union[1] <= page_ink[1] and page_ink[3] <= union[3]


def test_text_layer_boxes_scale_with_dpi(letter_pdf):
    with open_pdf(letter_pdf) as doc:
        at200 = rect(doc.text_lines(0)[0])
        at100 = rect(doc.text_lines(0, dpi=100)[0])
    assert all(abs(a / 2 - b) <= 1.5 for a, b in zip(at200, at100))


def test_words_join_and_columns_split():
    pdf = text_pdf(
        [[Text("Hello", 72, 400), Text("World", 110, 400), Text("Name", 72, 300), Text("Amount", 300, 300)]]
    )
    with open_pdf(pdf) as doc:
        assert [ln.text for ln in doc.text_lines(0)] == ["Hello World", "Name", "Amount"]


def test_text_outside_the_page_is_ignored():
    pdf = text_pdf([[Text("Hidden left", -500, 700), Text("Hidden below", 72, -100), Text("Visible words", 72, 700)]])
    with open_pdf(pdf) as doc:
        assert [ln.text for ln in doc.text_lines(0)] == ["Visible words"]


def test_unicode_text_and_standard_font():
    with open_pdf(text_pdf([[Text("Grüße für 5 €", 72, 700)]])) as doc:
        assert [ln.text for ln in doc.text_lines(0)] == ["Grüße für 5 €"]
    with open_pdf(helvetica_pdf([("Hello Helvetica", 72, 700, 12)])) as doc:
        assert [ln.text for ln in doc.text_lines(0)] == ["Hello Helvetica"]


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_pages_give_boxes_on_the_rendered_page(rotation):
    pdf = text_pdf([[Text("Rotated text", 72, 700, 12), Text("Line two", 72, 680, 12)]], rotation=rotation)
    with open_pdf(pdf) as doc:
        lines = doc.text_lines(0)
        image = doc.render(0)
    assert sorted(ln.text for ln in lines) == ["Line two", "Rotated text"]
    assert image.shape[:2] == ((1700, 2200) if rotation in (90, 270) else (2200, 1700))
    for line in lines:
        box = rect(line)
        ink = ink_bounds(image, box)
        assert ink is not None
        # Each line box holds its ink: within a pixel or two, whichever way the page turns.
        assert box[0] - 2 <= ink[0] and ink[2] <= box[2] + 2 and box[1] - 2 <= ink[1] and ink[3] <= box[3] + 2
        tall = box[3] - box[1] > box[2] - box[0]
        assert tall == (rotation in (90, 270))


def test_lines_split_by_geometry_without_line_break_characters():
    """PDFium usually marks line breaks; when it does not, position alone must split lines."""
    from ocrcore.document import _Char, _group_lines

    def glyphs(text, x, y, size=20):
        width = size * 0.6
        return [_Char(c, (x + i * width, y, x + (i + 1) * width, y + size), False) for i, c in enumerate(text)]

    # "def" ends at x=36; "ghi" starts 10 px later (a word space); "far" is a column away.
    chars = glyphs("abc", 0, 0) + glyphs("def", 0, 30) + glyphs("ghi", 46, 30) + glyphs("far", 400, 30)
    assert [ln.text for ln in _group_lines(chars)] == ["abc", "def ghi", "far"]


def test_absurdly_long_text_layer_is_not_read(monkeypatch):
    import ocrcore.document as document

    pdf = text_pdf([[Text("Twenty characters!!!", 72, 700)]])
    with open_pdf(pdf) as doc:
        assert doc.text_lines(0) is not None
        monkeypatch.setattr(document, "MAX_TEXT_CHARS", 19)
        assert doc.text_lines(0) is None


def test_unreadable_text_layer_counts_as_none():
    # Private-use code points: what PDFs with unmapped symbol fonts extract to.
    with open_pdf(text_pdf([[Text("\ue000\ue001\ue002\ue003\ue004\ue005", 72, 700)]])) as doc:
        assert doc.text_lines(0) is None
    with open_pdf(text_pdf([[Text("ab", 72, 700)]])) as doc:
        assert doc.text_lines(0) is None  # too little to be a text layer
    # Text too small to see (a way to hide text in a scan) is no text layer either.
    for size in (0, 1):
        with open_pdf(text_pdf([[Text("hidden words under the picture", 72, 700, size)]])) as doc:
            assert doc.text_lines(0) is None
    with open_pdf(text_pdf([[Text("small print", 72, 700, 3)]])) as doc:
        assert [ln.text for ln in doc.text_lines(0)] == ["small print"]


def test_scan_with_a_stamp_is_not_a_text_layer_but_an_ocr_layer_is(receipt_scan):
    stamped = overlay_text(receipt_scan, [[Text("Page 3 of 10", 10, 10, 6)]])
    with open_pdf(stamped) as doc:
        assert doc.text_lines(0) is None
        assert doc.prepare_page(0).image is not None
    # Like OCRmyPDF output: the scan plus a full (invisible in real files) text layer.
    ocred = overlay_text(receipt_scan, [[Text(f"ITEM {i} RM 1.{i:02d}", 10, 340 - 12 * i, 9) for i in range(25)]])
    with open_pdf(ocred) as doc:
        lines = doc.text_lines(0)
        assert lines is not None and len(lines) == 25 and lines[3].text == "ITEM 3 RM 1.03"


def test_scan_inside_a_form_xobject_is_still_seen(receipt_scan):
    wrapped = wrap_in_form(receipt_scan)
    with open_pdf(overlay_text(wrapped, [[Text("Page 3 of 10", 10, 10, 6)]])) as doc:
        assert doc.text_lines(0) is None
    side = int((MAX_PAGE_IMAGE_PIXELS * 1.1) ** 0.5)
    with open_pdf(wrap_in_form(image_xobject_pdf(side, side))) as doc, pytest.raises(PdfPageTooLargeError):
        doc.render(0)


def test_force_ocr_renders_even_with_a_text_layer(letter_pdf):
    with open_pdf(letter_pdf) as doc:
        used = doc.prepare_page(0)
        assert used.image is None and used.lines[0].text == "Quarterly Report"
        assert (used.width, used.height, used.dpi) == (1700, 2200, 200)
        forced = doc.prepare_page(0, force_ocr=True)
        assert forced.lines is None and forced.image.shape == (2200, 1700, 3)


def test_multi_page_document_and_page_range(letter_pdf):
    with open_pdf(letter_pdf, page_range="1") as doc:
        assert doc.page_count == 2 and doc.selected_pages == [1]
        (line,) = doc.text_lines(1)
        assert line.text == "Second page text"
        x0, y0, x1, y1 = rect(line)
        assert abs(x0 - 100 * PT) <= 3 and y0 < (792 - 400) * PT < y1
    with open_pdf(letter_pdf) as doc, pytest.raises(IndexError):
        doc.render(2)


def test_a_hyphen_at_a_line_end_is_read_as_one():
    """PDFium reports the hyphen it finds at a line's end as U+0002, a control code: it is the
    page's hyphen, kept so that the layout can join the word again."""
    pdf = text_pdf([[Text("the reader sees a hyphen-", 72, 400), Text("ated word here", 72, 386)]])
    with open_pdf(pdf) as doc:
        assert [ln.text for ln in doc.text_lines(0)] == ["the reader sees a hyphen-", "ated word here"]
