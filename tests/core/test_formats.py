"""Output formats: structure of each format, escaping, pagination, and real documents end to end.

Real parsers check the structure: xml.etree for hOCR, html.parser for HTML and
markdown-it-py (CommonMark) for the Markdown escaping.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from PIL import Image

from ocrcore.document import open_pdf
from ocrcore.limits import TEXT_FORMATS
from ocrcore.formats import (
    MIMETYPES,
    OUTPUT_FORMATS,
    PAGE_SEPARATOR,
    PageResult,
    UnknownFormatError,

    render,
    to_hocr,
    to_html,
    to_json_document,
    to_markdown,
    to_text,
)
from ocrcore.types import TextLine
from tests.core.pdfmaker import Text, image_pdf, text_pdf
from tests.sroie import RECEIPT

XHTML = "{http://www.w3.org/1999/xhtml}"
MARKER = re.compile(r"^\{(\d+)\}-{48}$", re.M)  # Marker's page separator line


def page_ids(document: str) -> list[int]:
    """Ids of the page markers, checking each stands alone between blank lines."""
    for match in MARKER.finditer(document):
        assert document[match.start() - 2 : match.start()] == "\n\n"
        assert document[match.end() : match.end() + 2] in ("\n\n", "\n")
    return [int(n) for n in MARKER.findall(document)]


def page_bodies(document: str) -> list[str]:
    return [body.strip("\n") for body in MARKER.split(document)[2::2]]


def line(text: str, x0: int, y0: int, x1: int, y1: int, confidence: float = 0.9) -> TextLine:
    return TextLine(text, confidence, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


# A page with a heading, a two-line paragraph, then a row of two boxes after a blank line.
PAGE_ONE = PageResult(
    page=1,
    width=1000,
    height=1400,
    source="ocr",
    lines=[
        line("Quarterly Report", 100, 100, 600, 140, 0.99),
        line("Revenue grew by 12 percent", 100, 200, 800, 230),
        line("and costs stayed flat", 100, 236, 700, 266),
        line("TOTAL", 100, 340, 200, 370, 0.97),
        line("12.50", 700, 342, 800, 372, 0.951),
    ],
)
EMPTY_PAGE = PageResult(page=2, width=1000, height=1400, source="ocr", lines=[])
PAGE_FIVE = PageResult(
    page=5, width=800, height=600, source="text_layer", lines=[line("Appendix <b>&</b>", 10, 10, 300, 40, 1.0)]
)
PAGES = [PAGE_ONE, EMPTY_PAGE, PAGE_FIVE]


def all_text(pages: list[PageResult]) -> list[str]:
    return [ln.text for p in pages for ln in p.lines]


# ---------- json ----------


def test_json_for_documents_has_pages_with_source_and_size():
    body = to_json_document(PAGES, 1.23456)
    assert list(body) == ["processing_time", "pages"]
    assert body["processing_time"] == 1.235
    assert [p["page"] for p in body["pages"]] == [1, 2, 5]
    first = body["pages"][0]
    assert list(first) == ["page", "width", "height", "source", "results"]
    assert (first["width"], first["height"], first["source"]) == (1000, 1400, "ocr")
    assert first["results"][1] == {
        "text": "Revenue grew by 12 percent",
        "confidence": 0.9,
        "bounding_box": [[100, 200], [800, 200], [800, 230], [100, 230]],
    }
    assert body["pages"][2]["source"] == "text_layer"


def test_json_for_an_image_keeps_the_original_shape_exactly():
    body, mimetype = render([PAGE_ONE], 0.4567, "json", paginate=True, is_document=False)
    assert mimetype == "application/json"
    assert body == {"processing_time": 0.457, "results": [ln.to_dict() for ln in PAGE_ONE.lines]}
    with pytest.raises(ValueError):
        render(PAGES, 0.1, "json", is_document=False)


def test_render_dispatches_every_format_and_refuses_others():
    for fmt in ("json", *TEXT_FORMATS):
        body, mimetype = render(PAGES, 0.5, fmt, False, is_document=True)
        assert mimetype == MIMETYPES[fmt]
        assert isinstance(body, dict if fmt == "json" else str)
    with pytest.raises(UnknownFormatError, match="json, text, markdown, html, hocr"):
        render(PAGES, 0.5, "docx", is_document=True)
    assert set(OUTPUT_FORMATS) - {"json", *TEXT_FORMATS} == {"pdf"}
    with pytest.raises(UnknownFormatError, match="ocrcore.searchable"):  # made from the input's bytes
        render(PAGES, 0.5, "pdf", is_document=True)


# ---------- text and markdown ----------


def test_text_is_blocks_of_lines_in_order_and_paginates_only_when_asked():
    plain = to_text(PAGES)
    # A block's lines as they are, a blank line between blocks; boxes side by side are one line.
    assert plain.split("\n\n") == [
        "Quarterly Report", "Revenue grew by 12 percent\nand costs stayed flat", "TOTAL 12.50", "Appendix <b>&</b>\n"]
    assert "-" * 48 not in plain
    paged = to_text(PAGES, paginate=True)
    # Marker's convention: the marker precedes every page and carries the 0-based page id.
    assert page_ids(paged) == [0, 1, 4]
    assert paged.startswith("\n\n{0}" + PAGE_SEPARATOR + "\n\n")
    assert page_bodies(paged) == [
        "Quarterly Report\n\nRevenue grew by 12 percent\nand costs stayed flat\n\nTOTAL 12.50",
        "",
        "Appendix <b>&</b>",
    ]


def test_markdown_groups_paragraphs_and_paginates_only_when_asked():
    plain = to_markdown([PAGE_ONE])
    blocks = plain.strip().split("\n\n")
    # The larger first line is a heading; a paragraph's lines are one line of markdown.
    assert blocks == [
        "# Quarterly Report",
        "Revenue grew by 12 percent and costs stayed flat",
        "TOTAL 12.50",
    ]
    assert MARKER.search(to_markdown(PAGES)) is None
    paged = to_markdown(PAGES, paginate=True)
    assert page_ids(paged) == [0, 1, 4]
    assert page_bodies(paged)[1] == ""
    assert "\n\n\n" not in paged  # an empty page does not stack blank lines


def test_markdown_escaping_keeps_ocr_text_literal():
    markdown_it = pytest.importorskip("markdown_it")
    tricky = [
        "*** THANK YOU ***",
        "# 12 items",
        "------",
        "> not a quote",
        "<script>alert(1)</script>",
        "[link](http://x.invalid) `code` a_b_c",
        "A&W &amp; $5 | x ~~y~~",
        "12.50 total #7",
        "[ref]: http://x.invalid",
        "```",
    ]
    md = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    for text in tricky:  # each alone on its page: one paragraph of plain text, the same text out
        rendered = md.render(to_markdown([PageResult(1, 1000, 200, "ocr", [line(text, 10, 100, 900, 130)])]))
        assert re.findall(r"</?(\w+)", rendered) == ["p", "p"], (text, rendered)
        assert HTMLText.of(rendered).strip("\n") == text
    # Plain numbers and hyphenated codes are left readable.
    assert "12.50 total #7" in to_markdown([PageResult(1, 1000, 200, "ocr", [line("12.50 total #7", 0, 0, 500, 30)])])
    assert "789417-W" in to_markdown([PageResult(1, 10, 10, "ocr", [line("789417-W", 0, 0, 5, 5)])])


def test_markdown_escapes_only_what_would_become_markup():
    """A lone [, *, _ or < cannot form a link, emphasis or a tag: it stays as it is, so programs
    reading the markdown get the text; a pair that could is escaped."""
    def md(text: str) -> str:
        return to_markdown([PageResult(1, 1000, 200, "ocr", [line(text, 10, 100, 900, 130)])]).strip()

    assert md("price [approx. 5") == "price [approx. 5"
    assert md("5 * 3 = 15") == "5 * 3 = 15"
    assert md("file_name.txt a < b") == "file_name.txt a < b"
    assert md("see [1] and *note*") == "see [1] and \\*note\\*"  # [1] is no link without a definition
    assert md("a [link](x) here") == "a \\[link](x) here"
    assert md("<b>bold</b>") == "\\<b>bold\\</b>"


def test_markdown_lists_headings_and_tables_render_as_such():
    markdown_it = pytest.importorskip("markdown_it")
    page = PageResult(1, 1200, 1600, "ocr", [
        line("Annual Summary", 100, 100, 700, 150),
        line("• first point of the list", 100, 220, 600, 250),
        line("• second point of the list", 100, 260, 620, 290),
        line("1. numbered item one here", 100, 360, 600, 390),
        line("2. numbered item two here", 100, 400, 600, 430),
        line("Name", 100, 520, 200, 550), line("Qty", 500, 520, 560, 550), line("Price", 800, 520, 900, 550),
        line("Apple", 100, 570, 200, 600), line("3", 500, 570, 520, 600), line("1.20", 800, 570, 880, 600),
        line("Pear", 100, 620, 190, 650), line("0.80", 800, 620, 880, 650),
        line("Plum", 100, 670, 190, 700), line("12", 500, 670, 530, 700), line("2.00", 800, 670, 880, 700),
    ])
    markdown = to_markdown([page])
    rendered = markdown_it.MarkdownIt("commonmark").enable(["table"]).render(markdown)
    tags = re.findall(r"<(\w+)", rendered)
    assert tags[0] == "h1" and tags.count("ul") == 1 and tags.count("ol") == 1 and tags.count("li") == 4
    assert tags.count("table") == 1 and tags.count("th") == 3 and tags.count("td") == 9
    assert "| Pear |  | 0.80 |" in markdown  # the empty cell kept in place


class HTMLText(HTMLParser):
    """Text content of an HTML fragment, entities decoded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)

    @classmethod
    def of(cls, fragment: str) -> str:
        parser = cls()
        parser.feed(fragment)
        parser.close()
        return "".join(parser.parts)


# ---------- html ----------


class HTMLStructure(HTMLParser):
    """Collects tags (with attributes) and the text inside each span.line."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.lines: list[tuple[dict, str]] = []
        self._in_line: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "span" and attrs.get("class") == "line":
            self._in_line, self._text = attrs, []

    def handle_endtag(self, tag):
        if tag == "span" and self._in_line is not None:
            self.lines.append((self._in_line, "".join(self._text)))
            self._in_line = None

    def handle_data(self, data):
        if self._in_line is not None:
            self._text.append(data)


def parse_html(document: str) -> HTMLStructure:
    parser = HTMLStructure()
    parser.feed(document)
    parser.close()
    return parser


def test_html_is_a_semantic_document_with_line_spans_and_boxes():
    document = to_html(PAGES)
    assert document.startswith("<!DOCTYPE html>\n<html>")
    parsed = parse_html(document)
    tags = [t for t, _ in parsed.tags]
    assert tags.count("article") == 1 and "section" not in tags
    assert tags.count("h1") == 1 and tags.count("p") == 3  # a heading, two paragraphs on page 1, one on page 5
    assert [text for _, text in parsed.lines] == all_text(PAGES)
    first_attrs = parsed.lines[0][0]
    assert first_attrs["data-bbox"] == "100 100 600 140" and first_attrs["data-confidence"] == "0.990"
    assert ("meta", {"charset": "utf-8"}) in parsed.tags


def test_html_paginated_has_a_section_per_page():
    parsed = parse_html(to_html(PAGES, paginate=True))
    sections = [attrs for tag, attrs in parsed.tags if tag == "section"]
    assert [(s["data-page-id"], s["data-page-number"], s["data-source"]) for s in sections] == [
        ("0", "1", "ocr"),
        ("1", "2", "ocr"),
        ("4", "5", "text_layer"),
    ]
    assert (sections[2]["data-width"], sections[2]["data-height"]) == ("800", "600")


def test_html_escapes_text_so_it_cannot_inject_markup():
    page = PageResult(1, 100, 100, "ocr", [line('<script>alert("x")</script> & "quotes"', 0, 0, 50, 10)])
    document = to_html([page])
    parsed = parse_html(document)
    assert "script" not in [t for t, _ in parsed.tags]
    assert "<script>" not in document
    assert parsed.lines[0][1] == '<script>alert("x")</script> & "quotes"'


# ---------- hOCR ----------


def hocr_elements(root: ET.Element, cls: str) -> list[ET.Element]:
    return [el for el in root.iter() if el.get("class") == cls]


def test_hocr_is_xhtml_with_the_hocr_hierarchy():
    document = to_hocr(PAGES)
    root = ET.fromstring(document.encode("utf-8"))
    assert root.tag == XHTML + "html"
    metas = {m.get("name"): m.get("content") for m in root.iter(XHTML + "meta") if m.get("name")}
    assert metas["ocr-system"].startswith("ocrserve")
    assert set(metas["ocr-capabilities"].split()) >= {"ocr_page", "ocr_carea", "ocr_par", "ocr_line", "ocrx_word"}
    assert metas["ocr-number-of-pages"] == "3"

    pages = hocr_elements(root, "ocr_page")
    assert [p.get("title") for p in pages] == [
        "bbox 0 0 1000 1400; ppageno 0",
        "bbox 0 0 1000 1400; ppageno 1",
        "bbox 0 0 800 600; ppageno 4",
    ]
    lines = hocr_elements(root, "ocr_line")
    assert len(lines) == len(all_text(PAGES))  # one ocr_line per result line
    # Nesting: page > carea > par > line > word.
    for page in pages:
        for carea in page:
            assert carea.get("class") == "ocr_carea"
            for par in carea:
                assert par.get("class") == "ocr_par" and par.tag == XHTML + "p"
                assert all(ln.get("class") == "ocr_line" for ln in par)
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids))


def bbox_of(element: ET.Element) -> list[int]:
    match = re.search(r"bbox (\d+) (\d+) (\d+) (\d+)", element.get("title"))
    return [int(v) for v in match.groups()]


def test_hocr_words_lie_in_their_line_in_order_with_confidences():
    root = ET.fromstring(to_hocr(PAGES).encode("utf-8"))
    for element, source in zip(hocr_elements(root, "ocr_line"), [ln for p in PAGES for ln in p.lines]):
        x0, y0, x1, y1 = bbox_of(element)
        xs = [p[0] for p in source.bounding_box]
        ys = [p[1] for p in source.bounding_box]
        assert [x0, y0, x1, y1] == [min(xs), min(ys), max(xs), max(ys)]
        words = [w for w in element if w.get("class") == "ocrx_word"]
        assert " ".join(w.text for w in words) == source.text
        boxes = [bbox_of(w) for w in words]
        assert all(x0 <= b[0] < b[2] <= x1 and (b[1], b[3]) == (y0, y1) for b in boxes)
        assert all(a[2] <= b[0] for a, b in zip(boxes, boxes[1:]))  # left to right, no overlap
        wconf = round(source.confidence * 100)
        assert f"x_wconf {wconf}" in element.get("title")
        assert all(w.get("title").endswith(f"x_wconf {wconf}") for w in words)


def test_hocr_survives_hostile_text():
    page = PageResult(1, 100, 100, "ocr", [line("bad \x00\x1b\ud800 chars <&> ]]>", 0, 0, 90, 10)])
    document = to_hocr([page])
    root = ET.fromstring(document.encode("utf-8"))  # encodes and parses: no control chars or lone surrogates
    (element,) = hocr_elements(root, "ocr_line")
    assert "".join(element.itertext()) == "bad  chars <&> ]]>"


def test_hocr_vertical_line_gets_vertical_word_boxes():
    page = PageResult(1, 100, 1000, "ocr", [line("ab cd", 10, 100, 40, 600)])
    root = ET.fromstring(to_hocr([page]).encode("utf-8"))
    first, second = [bbox_of(w) for w in hocr_elements(root, "ocrx_word")]
    assert first[0] == second[0] == 10 and first[3] <= second[1]


# ---------- real documents end to end ----------


def page_results(pdf: bytes, engine, force_ocr: bool = False, page_range: str | None = None) -> list[PageResult]:
    """What the worker does: the text layer where usable, else OCR of the rendering."""
    results = []
    with open_pdf(pdf, page_range=page_range) as doc:
        for index in doc.selected_pages:
            page = doc.prepare_page(index, force_ocr=force_ocr)
            if page.lines is not None:
                results.append(PageResult(index + 1, page.width, page.height, "text_layer", page.lines))
            else:
                lines = engine.run(page.image).lines
                results.append(PageResult(index + 1, page.width, page.height, "ocr", lines))
    return results


@pytest.fixture(scope="module")
def report_pdf() -> bytes:
    """Three text-layer pages; page 2 has two paragraphs."""
    return text_pdf(
        [
            [Text("INVOICE NUMBER 48213", 72, 700, 16)],
            [
                Text("Payment terms apply", 72, 700, 12),
                Text("within thirty days", 72, 685, 12),
                Text("Thank you for your order", 72, 600, 12),
            ],
            [Text("TOTAL AMOUNT 56.70", 72, 700, 16)],
        ]
    )


def formats_of(pages: list[PageResult]) -> dict[str, str]:
    return {fmt: render(pages, 1.0, fmt, True, is_document=True)[0] for fmt in TEXT_FORMATS}


def test_text_layer_document_in_every_format(report_pdf):
    pages = page_results(report_pdf, engine=None, page_range="1-2")  # no OCR needed for text layers
    assert [(p.page, p.source) for p in pages] == [(2, "text_layer"), (3, "text_layer")]
    out = formats_of(pages)
    assert page_ids(out["markdown"]) == [1, 2]
    assert "Payment terms apply within thirty days\n\nThank you for your order" in out["markdown"]
    assert out["text"].count("TOTAL AMOUNT 56.70") == 1 and "INVOICE" not in out["text"]
    root = ET.fromstring(out["hocr"].encode("utf-8"))
    assert len(hocr_elements(root, "ocr_page")) == 2 and len(hocr_elements(root, "ocr_line")) == 4
    assert len(hocr_elements(root, "ocr_par")) == 3
    assert [t for _, t in parse_html(out["html"]).lines] == [
        "Payment terms apply",
        "within thirty days",
        "Thank you for your order",
        "TOTAL AMOUNT 56.70",
    ]


def test_force_ocr_changes_the_source_and_still_reads_the_words(engine, report_pdf):
    (page,) = page_results(report_pdf, engine, force_ocr=True, page_range="0")
    assert page.source == "ocr"
    assert "INVOICE NUMBER 48213" in to_text([page]).upper()
    (layer,) = page_results(report_pdf, engine, page_range="0")
    assert layer.source == "text_layer" and (layer.width, layer.height) == (page.width, page.height)
    # OCR and the text layer agree on where the line is (OCR boxes carry some padding).
    ocr_box, layer_box = page.lines[0].bounding_box, layer.lines[0].bounding_box
    assert abs(ocr_box[0][0] - layer_box[0][0]) < 20 and abs(ocr_box[2][1] - layer_box[2][1]) < 20


def test_scanned_receipt_pdf_in_every_format(engine):
    pdf = image_pdf([Image.open(RECEIPT)], resolution=200)
    pages = page_results(pdf, engine)
    assert [p.source for p in pages] == ["ocr"]
    out = formats_of(pages)
    for fmt, body in out.items():
        upper = body.upper()
        for word in ("TAMAN", "JOHOR", "EXCHANGEABLE"):
            assert word in upper, (fmt, word)
    root = ET.fromstring(out["hocr"].encode("utf-8"))
    assert len(hocr_elements(root, "ocr_line")) == len(pages[0].lines)
    assert bbox_of(hocr_elements(root, "ocr_page")[0]) == [0, 0, 463, 1013]
