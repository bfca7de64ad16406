"""Output formats: page results -> json, text, markdown, html or hOCR.

Pure functions over PageResult values; lines are taken in the order given (the engine
emits OCR lines in reading order, and a text layer comes in the document's own order).
"""
from __future__ import annotations

import html
import re
import statistics
from dataclasses import dataclass
from functools import cache
from typing import Literal

from .limits import OUTPUT_FORMATS, TEXT_FORMATS
from .types import TextLine

MIMETYPES = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    # hOCR is XHTML; served as such so XML tooling and browsers both accept it.
    "hocr": "application/xhtml+xml; charset=utf-8",
    "pdf": "application/pdf",
}
# Binary formats are made from the input's own bytes by ocrcore.searchable, not by render().
BINARY_FORMATS = ("pdf",)

# Marker's page separator (datalab-to/marker, marker/renderers/markdown.py, and its
# README: "--paginate_output: Paginates the output, using \n\n{PAGE_NUMBER} followed by
# - * 48, then \n\n"). Marker writes it before every page, the first included, and its
# PAGE_NUMBER is the 0-based page id; we do the same so tools that split Marker output
# split ours.
PAGE_SEPARATOR = "-" * 48

# Paragraphs: a vertical gap above this many line heights (or the page's usual gap plus
# half a line, for widely spaced text) starts a new paragraph. Single-spaced lines are
# 0-0.3 heights apart (text layer boxes and OCR boxes alike); a blank line is ~1.
_PARAGRAPH_GAP = 0.75


@dataclass(frozen=True)
class PageResult:
    page: int  # 1-based page number in the source document
    width: int  # pixels of the frame the boxes are in
    height: int
    source: Literal["ocr", "text_layer"]
    lines: list[TextLine]

    def to_dict(self) -> dict:
        return {
            "page": self.page,
            "width": self.width,
            "height": self.height,
            "source": self.source,
            "results": [line.to_dict() for line in self.lines],
        }


class UnknownFormatError(ValueError):
    """An output_format we do not produce."""


def render(
    pages: list[PageResult],
    processing_time: float,
    output_format: str = "json",
    paginate: bool = False,
    *,
    is_document: bool,
) -> tuple[dict | str, str]:
    """One entry point for the service: (body, mimetype). body is a dict for json, else str.

    For a single image (not is_document) json keeps the original shape exactly:
    {"processing_time", "results"}. `paginate` affects text, markdown and html; hOCR
    always has one ocr_page per page and json one entry per page.
    """
    if output_format in BINARY_FORMATS:
        raise UnknownFormatError(f"{output_format} is made from the input's bytes by ocrcore.searchable, not render()")
    if output_format not in OUTPUT_FORMATS:
        raise UnknownFormatError(f"output_format must be one of json, {', '.join(TEXT_FORMATS)}")
    if output_format == "json":
        if is_document:
            body: dict | str = to_json_document(pages, processing_time)
        else:
            if len(pages) != 1:
                raise ValueError("an image result has exactly one page")
            body = {
                "processing_time": round(processing_time, 3),
                "results": [line.to_dict() for line in pages[0].lines],
            }
    elif output_format == "text":
        body = to_text(pages, paginate)
    elif output_format == "markdown":
        body = to_markdown(pages, paginate)
    elif output_format == "html":
        body = to_html(pages, paginate)
    else:
        body = to_hocr(pages)
    return body, MIMETYPES[output_format]


def to_json_document(pages: list[PageResult], processing_time: float) -> dict:
    return {"processing_time": round(processing_time, 3), "pages": [page.to_dict() for page in pages]}


def page_marker(page: PageResult) -> str:
    """Marker's pagination line for a page, surrounded by its blank lines."""
    return f"\n\n{{{page.page - 1}}}{PAGE_SEPARATOR}\n\n"


def to_text(pages: list[PageResult], paginate: bool = False) -> str:
    """One line of text per result line, in order; pages follow each other directly
    unless `paginate`, which puts Marker's page marker before each page."""
    parts = []
    for page in pages:
        body = "\n".join(line.text for line in page.lines)
        parts.append(page_marker(page) + body if paginate else body)
    return _finish(("" if paginate else "\n").join(p for p in parts if p or paginate))


def to_markdown(pages: list[PageResult], paginate: bool = False) -> str:
    """Paragraphs separated by blank lines, lines of a paragraph on their own lines
    (Markdown reflows them); text escaped so OCR output never turns into markup."""
    parts = []
    for page in pages:
        body = "\n\n".join(
            "\n".join(_markdown_escape(line.text) for line in paragraph) for paragraph in paragraphs(page.lines)
        )
        parts.append(page_marker(page) + body if paginate else body)
    return _finish(("" if paginate else "\n\n").join(p for p in parts if p or paginate))


def _finish(text: str) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text)  # empty pages must not stack blank lines
    if not text.strip():
        return ""
    # Marker's paginated output starts with the separator's blank lines; keep them.
    return ("\n\n" + text.strip("\n") if text.startswith("\n\n") else text.strip("\n")) + "\n"


_MD_INLINE = re.compile(r"([\\`*_\[\]<|$~])|&(?=#?\w+;)")
# Line starts CommonMark reads as blocks: ATX heading, bullet, ordered item, quote,
# and lines of only - or = (thematic break, setext underline).
_MD_BLOCK_START = re.compile(r"^(?:#{1,6}(?:\s|$)|[-+](?:\s|$)|\d{1,9}[.)](?:\s|$)|>|[-=][-=\s]*$)")


def _markdown_escape(text: str) -> str:
    """Backslash-escape what CommonMark/GFM would read as markup (emphasis, code, links,
    raw HTML, tables, math, entities) and line starts that would make blocks."""
    text = _MD_INLINE.sub(lambda m: "\\" + m.group(0), text)
    if _MD_BLOCK_START.match(text):
        digits = len(text) - len(text.lstrip("0123456789"))
        text = text[:digits] + "\\" + text[digits:]  # before the marker: "1\. x", "\# x"
    return text


def to_html(pages: list[PageResult], paginate: bool = False) -> str:
    """A small semantic HTML5 document: <article>, a <section> per page when paginated,
    <p> per paragraph and a <span class="line"> per line with its box in data-bbox."""
    body = []
    for page in pages:
        paras = [
            "<p>"
            + "\n".join(
                f'<span class="line" data-bbox="{" ".join(map(str, _bbox(line)))}" '
                f'data-confidence="{line.confidence:.3f}">{_escape(line.text)}</span>'
                for line in paragraph
            )
            + "</p>"
            for paragraph in paragraphs(page.lines)
        ]
        if paginate:
            body.append(
                f'<section class="page" data-page-id="{page.page - 1}" data-page-number="{page.page}" '
                f'data-width="{page.width}" data-height="{page.height}" data-source="{_escape(page.source)}">\n'
                + "".join(para + "\n" for para in paras)
                + "</section>"
            )
        else:
            body.extend(paras)
    return (
        "<!DOCTYPE html>\n"
        '<html>\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="generator" content="{_escape(_system_name())}">\n'
        "<title>OCR result</title>\n"
        "<style>span.line{display:block}</style>\n"
        "</head>\n<body>\n<article>\n" + "\n".join(body) + "\n</article>\n</body>\n</html>\n"
    )


def to_hocr(pages: list[PageResult]) -> str:
    """hOCR 1.2 (kba/hocr-spec) as XHTML: ocr_page > ocr_carea > ocr_par > ocr_line >
    ocrx_word. Page numbers in ppageno are 0-based, as the spec says ("the front cover
    is page number 0"). Word boxes come from the recogniser's character positions
    (TextLine.words); lines without them (PDF text layers) share their box among their
    words in proportion to character counts. Confidences become x_wconf percentages."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"',
        '    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
        '<html xmlns="http://www.w3.org/1999/xhtml">',
        "<head>",
        "<title>OCR result</title>",
        '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>',
        f'<meta name="ocr-system" content="{_escape(_system_name())}"/>',
        '<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"/>',
        f'<meta name="ocr-number-of-pages" content="{len(pages)}"/>',
        "</head>",
        "<body>",
    ]
    for page in pages:
        p = page.page
        out.append(
            f'<div class="ocr_page" id="page_{p}" title="bbox 0 0 {page.width} {page.height}; ppageno {p - 1}">'
        )
        line_no = word_no = 0
        for block_no, paragraph in enumerate(paragraphs(page.lines), start=1):
            box = _union([_bbox(line) for line in paragraph])
            out.append(f'<div class="ocr_carea" id="block_{p}_{block_no}" title="bbox {_fmt(box)}">')
            out.append(f'<p class="ocr_par" id="par_{p}_{block_no}" title="bbox {_fmt(box)}">')
            for line in paragraph:
                line_no += 1
                wconf = _wconf(line.confidence)
                words = []
                for word, word_box in _word_boxes(line):
                    word_no += 1
                    words.append(
                        f'<span class="ocrx_word" id="word_{p}_{word_no}" '
                        f'title="bbox {_fmt(word_box)}; x_wconf {wconf}">{_escape(word)}</span>'
                    )
                out.append(
                    f'<span class="ocr_line" id="line_{p}_{line_no}" title="bbox {_fmt(_bbox(line))}; '
                    f'x_wconf {wconf}">' + " ".join(words) + "</span>"
                )
            out.append("</p>")
            out.append("</div>")
        out.append("</div>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


# --- layout helpers -----------------------------------------------------------


def paragraphs(lines: list[TextLine]) -> list[list[TextLine]]:
    """Group consecutive lines into paragraphs by the vertical gaps between them.

    A new paragraph starts when the gap to the previous line exceeds 0.75 line heights
    (or the page's usual gap plus half a line, so double-spaced text is not split at
    every line), or when the line starts above the previous one (a new column or region).
    Lines side by side (same row) stay together.
    """
    if not lines:
        return []
    boxes = [_bbox(line) for line in lines]
    heights = [max(b[3] - b[1], 1) for b in boxes]
    unit = statistics.median(heights)
    gaps = [
        cur[1] - prev[3]
        for prev, cur in zip(boxes, boxes[1:])
        if not _same_row(prev, cur) and cur[1] - prev[3] >= 0
    ]
    # The lower quartile of gaps is the usual line spacing even when paragraph gaps abound.
    usual_gap = sorted(gaps)[len(gaps) // 4] if gaps else 0
    threshold = max(_PARAGRAPH_GAP * unit, usual_gap + 0.5 * unit)
    groups = [[lines[0]]]
    for i in range(1, len(lines)):
        prev, cur = boxes[i - 1], boxes[i]
        if _same_row(prev, cur):
            groups[-1].append(lines[i])
            continue
        moved_up = cur[1] < prev[1] - 0.5 * unit
        if cur[1] - prev[3] > threshold or moved_up:
            groups.append([lines[i]])
        else:
            groups[-1].append(lines[i])
    return groups


def _same_row(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap >= 0.5 * max(min(a[3] - a[1], b[3] - b[1]), 1)


def _bbox(line: TextLine) -> tuple[int, int, int, int]:
    xs = [int(round(p[0])) for p in line.bounding_box]
    ys = [int(round(p[1])) for p in line.bounding_box]
    return min(xs), min(ys), max(xs), max(ys)


def _union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape(text: str) -> str:
    """Escape for HTML and XML text and attributes, dropping code points XML 1.0 forbids
    (controls, lone surrogates) so the document always parses and encodes as UTF-8."""
    return html.escape(_NOT_XML.sub("", text))


def _fmt(box: tuple[int, int, int, int]) -> str:
    return " ".join(str(v) for v in box)


def _wconf(confidence: float) -> int:
    return max(0, min(100, int(round(confidence * 100))))


def _word_boxes(line: TextLine) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The line's words with their boxes: the recogniser's word boxes (kept inside the
    line's box) when the line has them, else estimated from character counts."""
    words = line.words
    if words and [w.text for w in words] == line.text.split():
        x0, y0, x1, y1 = _bbox(line)
        out = []
        for word in words:
            xs = [min(max(int(round(p[0])), x0), x1) for p in word.bounding_box]
            ys = [min(max(int(round(p[1])), y0), y1) for p in word.bounding_box]
            out.append((word.text, (min(xs), min(ys), max(max(xs), min(xs) + 1), max(max(ys), min(ys) + 1))))
        return out
    return _estimated_word_boxes(line)


def _estimated_word_boxes(line: TextLine) -> list[tuple[str, tuple[int, int, int, int]]]:
    """Split a line into words and share its box among them by character position.

    Runs along the longer side of the box, so vertical lines get vertical word boxes.
    """
    text = line.text
    x0, y0, x1, y1 = _bbox(line)
    vertical = (y1 - y0) >= 1.5 * (x1 - x0) and len(text) > 1
    start, length = (y0, y1 - y0) if vertical else (x0, x1 - x0)
    per_char = length / max(len(text), 1)
    words = []
    for match in re.finditer(r"\S+", text):
        a = start + int(round(match.start() * per_char))
        b = max(a + 1, start + int(round(match.end() * per_char)))
        box = (x0, a, x1, b) if vertical else (a, y0, b, y1)
        words.append((match.group(), box))
    return words


@cache
def _system_name() -> str:
    try:
        from importlib.metadata import version

        return f"ocrserve {version('ocrserve')}"
    except Exception:  # not installed as a distribution (e.g. run from a source tree)
        return "ocrserve"
