"""Real OCR of a rendered two-column page (tests/core/layoutpage.py), then every format:
the columns read one after the other, furniture left out, heading, list and table marked;
the searchable PDF's text layer read back by pdftotext in the same order; a born-digital
two-column PDF read from its text layer the same way."""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pypdfium2 as pdfium
import pytest

from ocrcore.document import open_pdf
from ocrcore.formats import PageResult, render
from ocrcore.searchable import images_to_pdf
from tests.core import layoutpage
from tests.core.pdfmaker import Text, text_pdf

CODES = ["ALPHA", "BRAVO", "CHARLIE", "DELTA"]


def code_order(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer("|".join(CODES), text.upper())]


@pytest.fixture(scope="module")
def page(engine) -> tuple[PageResult, bytes]:
    png = layoutpage.two_column_page().png()
    result = engine.run(png)
    return PageResult(1, result.width, result.height, "ocr", result.lines, result.rulings), png


def test_text_reads_the_columns_in_turn_without_furniture(page):
    text, _ = render([page[0]], 1.0, "text", is_document=False)
    assert code_order(text) == CODES
    assert "Journal" not in text and "Page 4" not in text
    kept, _ = render([page[0]], 1.0, "text", is_document=False, keep_furniture=True)
    assert kept.startswith("Field Journal") and kept.rstrip().endswith("Page 4")
    assert "South\t\t2150" in text  # the table a row per line, the empty cell kept


def test_markdown_has_headings_a_list_and_a_table_that_render(page):
    from markdown_it import MarkdownIt

    markdown, _ = render([page[0]], 1.0, "markdown", is_document=False)
    assert code_order(markdown) == CODES
    assert markdown.startswith("# Notes on Reading Order\n\n## 1 Introduction\n\n")
    assert "- first point of the list\n\n- second point of the list" in markdown
    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    assert rendered.count("<table>") == 1 and rendered.count("<th>") == 3 and rendered.count("<td>") == 9
    assert "<td></td>" in rendered
    assert re.search(r"<tr>\s*<td>South</td>\s*<td></td>\s*<td>2150</td>", rendered)


def test_html_and_hocr_follow_the_blocks(page):
    html_doc, _ = render([page[0]], 1.0, "html", is_document=False)
    assert "<h1 " in html_doc and "<h2 " in html_doc and "<ul>" in html_doc and "<thead>" in html_doc
    assert code_order(html_doc) == CODES and "Journal" not in html_doc
    hocr, _ = render([page[0]], 1.0, "hocr", is_document=False)
    root = ET.fromstring(hocr.encode())
    classes = [el.get("class") for el in root.iter() if el.get("class", "").startswith("ocr_")]
    assert {"ocr_header", "ocr_footer", "ocr_table", "ocr_carea"} <= set(classes)
    assert code_order(" ".join(t for t in root.itertext())) == CODES


def test_json_results_in_reading_order_and_the_block_tree_on_request(page):
    plain, _ = render([page[0]], 1.0, "json", is_document=False)
    assert list(plain) == ["processing_time", "results"]
    assert code_order(" ".join(r["text"] for r in plain["results"])) == CODES
    with_layout, _ = render([page[0]], 1.0, "json", is_document=False, with_layout=True)
    blocks = with_layout["layout"]["blocks"]
    types = [b["type"] for b in blocks]
    assert types[0] == "header" and types[-1] == "footer" and types.count("list_item") == 2
    table = next(b["table"] for b in blocks if b["type"] == "table")
    assert (table["rows"], table["cols"], table["ruled"]) == (4, 3, True)
    cell = next(c for c in table["cells"] if (c["row"], c["col"]) == (2, 1))
    assert cell["text"] == "" and cell["lines"] == []
    for block in blocks:  # every block points at its lines in `results`
        assert all(0 <= k < len(with_layout["results"]) for k in block["lines"])


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")
def test_searchable_pdf_text_layer_reads_in_column_order(page, tmp_path):
    """The text layer is written block by block in reading order, so what follows the content
    stream reads the columns in turn: pdftotext -raw, and copy-paste as PDFium extracts it.
    (pdftotext without -raw re-orders blocks by its own geometry rules, and puts a right
    column's lower blocks before the left column's on born-digital two-column pages too.)"""
    pdf = images_to_pdf([page[1]], [page[0]])
    path = tmp_path / "page.pdf"
    path.write_bytes(pdf)
    raw = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert code_order(raw) == CODES, raw
    assert "South 2150" in raw  # table rows in order, cell by cell
    document = pdfium.PdfDocument(pdf)
    try:
        textpage = document[0].get_textpage()
        assert code_order(textpage.get_text_range()) == CODES
    finally:
        document.close()


def test_a_born_digital_two_column_pdf_reads_the_same_from_its_text_layer():
    runs = [Text("Notes on Reading Order", 150, 740, 20)]
    for side, x in enumerate((72, 320)):
        y = 700
        for code in CODES[2 * side: 2 * side + 2]:
            for k in range(4):
                runs.append(Text(f"{code} line {k} of the column text here", x, y, 10))
                y -= 13
            y -= 10
    pdf = text_pdf([runs], page_size=(595, 842))
    with open_pdf(pdf) as document:
        prepared = document.prepare_page(0)
    assert prepared.lines is not None
    pages = [PageResult(1, prepared.width, prepared.height, "text_layer", prepared.lines, prepared.rulings)]
    markdown, _ = render(pages, 1.0, "markdown", is_document=True)
    assert code_order(markdown) == [c for c in CODES for _ in range(4)]
    assert markdown.startswith("# Notes on Reading Order")
