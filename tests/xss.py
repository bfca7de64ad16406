"""Attacker-controlled OCR text: the payloads, and checks that a rendered output keeps them inert.

An image can say anything, so the recognised text is hostile input for every output format and
for the web UI. Shared by tests/core (the formatters given these strings), tests/service (images
of these strings OCRed for real) and tests/browser (the UI showing them).
"""
from __future__ import annotations

import html
from html.parser import HTMLParser

PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "</span><script>alert(2)</script>",
    "](javascript:alert(3))",
    "[click](javascript:alert(4))",
    "&amp; &lt;b&gt; &#60;i&#62;",
]
# Tags our html and hOCR documents are made of; anything else came from the text.
DOCUMENT_TAGS = {"html", "head", "meta", "title", "style", "body", "article", "section", "p", "span", "div",
                 "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td",
                 "header", "footer"}


class Elements(HTMLParser):
    """Every element and attribute of an HTML document, and the text of each span.line / ocr_line."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.lines: list[str] = []
        self._line_depth = 0
        self._depth = 0
        self._current: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        self._depth += 1
        classes = (attributes.get("class") or "").split()
        if self._line_depth == 0 and ("line" in classes or "ocr_line" in classes):
            self._line_depth = self._depth
            self._current = []

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if self._line_depth and self._depth == self._line_depth:
            self.lines.append("".join(self._current))
            self._line_depth = 0
        self._depth -= 1

    def handle_data(self, data):
        if self._line_depth:
            self._current.append(data)


def inert_html_problems(document: str) -> tuple[list[str], list[str]]:
    """(problems, line texts) of an html or hOCR document: no element or attribute that is not the
    document's own, no event handler, no javascript: URL."""
    parser = Elements()
    parser.feed(document)
    parser.close()
    problems = []
    for tag, attributes in parser.tags:
        if tag not in DOCUMENT_TAGS:
            problems.append(f"element <{tag}> from the text")
        for name, value in attributes.items():
            if name.startswith("on"):
                problems.append(f"event handler {name}= on <{tag}>")
            if value and "javascript:" in value.lower():
                problems.append(f"javascript: URL in {name}= on <{tag}>")
    return problems, parser.lines


def markdown_problems(markdown: str) -> tuple[list[str], str]:
    """(problems, visible text) of markdown rendered by a CommonMark renderer at its most
    permissive (raw HTML on, every link scheme allowed, which is what many renderers do): no
    element but paragraphs and line breaks, no link, no entity that changes the text."""
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark")
    renderer.validateLink = lambda url: True  # markdown-it refuses javascript: itself; many renderers do not
    rendered = renderer.render(markdown)
    parser = Elements()
    parser.feed(rendered)
    problems = [f"element <{tag}> in the rendered markdown" for tag, _ in parser.tags if tag not in ("p", "br")]
    text = html.unescape(_strip_tags(rendered))
    return problems, text


def _strip_tags(rendered: str) -> str:
    out, inside = [], False
    for char in rendered:
        if char == "<":
            inside = True
        elif char == ">" and inside:
            inside = False
        elif not inside:
            out.append(char)
    return "".join(out)
