"""The output formatters given hostile text (tests/xss.py): every format keeps it inert and
shows it literally. No OCR here: the exact payload strings, one line each."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from ocrcore.formats import PageResult, render
from ocrcore.types import TextLine
from tests.xss import PAYLOADS, inert_html_problems, markdown_problems


def page(texts: list[str]) -> PageResult:
    """One line per text, set apart by a gap so that each is a paragraph of its own (the
    gaps grow, as no usual line spacing would join them)."""
    tops = [10 + sum(60 + 30 * k for k in range(i)) for i in range(len(texts))]
    lines = [TextLine(text=t, confidence=0.99, bounding_box=[[10, y], [900, y], [900, y + 40], [10, y + 40]])
             for y, t in zip(tops, texts)]
    return PageResult(1, 1000, tops[-1] + 60, "ocr", lines)


@pytest.mark.parametrize("paginate", [False, True])
def test_html_keeps_the_payloads_as_text(paginate):
    body, mimetype = render([page(PAYLOADS)], 0.1, "html", paginate, is_document=True)
    problems, lines = inert_html_problems(body)
    assert not problems, problems
    assert lines == PAYLOADS
    assert mimetype.startswith("text/html")


def test_hocr_keeps_the_payloads_as_text_and_parses_as_xml():
    body, _ = render([page(PAYLOADS)], 0.1, "hocr", is_document=True)
    problems, lines = inert_html_problems(body)
    assert not problems, problems
    assert [" ".join(line.split()) for line in lines] == [" ".join(p.split()) for p in PAYLOADS]
    root = ET.fromstring(body.encode())  # well-formed XHTML: no payload broke the markup
    namespace = "{http://www.w3.org/1999/xhtml}"
    assert not root.findall(f".//{namespace}script") and not root.findall(f".//{namespace}img")


@pytest.mark.parametrize("text", PAYLOADS)
def test_markdown_renders_each_payload_literally(text):
    body, _ = render([page([text])], 0.1, "markdown", is_document=False)
    problems, visible = markdown_problems(body)
    assert not problems, (body, problems)
    assert visible.strip() == text


def test_json_and_text_carry_the_exact_strings():
    body, _ = render([page(PAYLOADS)], 0.1, "json", is_document=False)
    assert [line["text"] for line in json.loads(json.dumps(body))["results"]] == PAYLOADS
    text, mimetype = render([page(PAYLOADS)], 0.1, "text", is_document=False)
    assert [t for t in text.splitlines() if t] == PAYLOADS and mimetype.startswith("text/plain")


def test_the_checks_can_fail():
    """An unescaped line is caught by each check."""
    problems, _ = inert_html_problems('<p><span class="line"><img src=x onerror=alert(1)></span></p>')
    assert any("img" in p for p in problems) and any("onerror" in p for p in problems)
    problems, _ = markdown_problems("[click](javascript:alert(4))")
    assert any("<a>" in p for p in problems)
    problems, _ = markdown_problems("<script>alert(1)</script>")
    assert any("script" in p for p in problems)
