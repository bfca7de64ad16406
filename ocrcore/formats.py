"""Output formats: page results -> json, text, markdown, html or hOCR, following the layout.

Pure functions over PageResult values. Every format is rendered from the pages' layout
(ocrcore.layout: blocks in reading order, typed): text and markdown give the blocks in
order, a paragraph that runs on into the next column or page joined again; markdown and
html mark headings, lists and tables; hOCR keeps every line in reading order inside its
block's area. Running headers and footers are left out of text, markdown and html unless
asked for (Marker and docling do the same); JSON and hOCR always keep them.
"""
from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from .layout import FURNITURE, Block, PageLayout, Rulings, analyze_document
from .layout.blocks import join_lines, joint, marker_number, strip_marker
from .layout.geometry import spans_by_characters
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


@dataclass(frozen=True)
class PageResult:
    page: int  # 1-based page number in the source document
    width: int  # pixels of the frame the boxes are in
    height: int
    source: Literal["ocr", "text_layer"]
    lines: list[TextLine]
    # Ruling lines found in the page's pixels (OCRed pages), for ruled tables.
    rulings: Rulings | None = None

    def to_dict(self, layout: PageLayout | None = None, with_layout: bool = False) -> dict:
        """The page with its lines in reading order; its block tree too when `with_layout`."""
        layout = layout or analyze_document([self])[0]
        out: dict[str, Any] = {
            "page": self.page,
            "width": self.width,
            "height": self.height,
            "source": self.source,
            "results": [line.to_dict() for line in layout.lines],
        }
        if with_layout:
            out["layout"] = layout.to_dict()
        return out


class UnknownFormatError(ValueError):
    """An output_format we do not produce."""


def render(
    pages: list[PageResult],
    processing_time: float,
    output_format: str = "json",
    paginate: bool = False,
    *,
    is_document: bool,
    with_layout: bool = False,
    keep_furniture: bool = False,
) -> tuple[dict | str, str]:
    """One entry point for the service: (body, mimetype). body is a dict for json, else str.

    For a single image (not is_document) json keeps the original shape exactly:
    {"processing_time", "results"} (with "layout" beside them only when `with_layout`).
    `paginate` affects text, markdown and html; hOCR always has one ocr_page per page and
    json one entry per page. `keep_furniture` keeps running headers and footers in text,
    markdown and html.
    """
    if output_format in BINARY_FORMATS:
        raise UnknownFormatError(f"{output_format} is made from the input's bytes by ocrcore.searchable, not render()")
    if output_format not in OUTPUT_FORMATS:
        raise UnknownFormatError(f"output_format must be one of json, {', '.join(TEXT_FORMATS)}")
    layouts = analyze_document(pages)
    if output_format == "json":
        if is_document:
            body: dict | str = to_json_document(pages, processing_time, with_layout, layouts)
        else:
            if len(pages) != 1:
                raise ValueError("an image result has exactly one page")
            body = {
                "processing_time": round(processing_time, 3),
                "results": [line.to_dict() for line in layouts[0].lines],
            }
            if with_layout:
                body["layout"] = layouts[0].to_dict()
    elif output_format == "hocr":
        body = to_hocr(pages, layouts)
    else:
        writer = {"text": to_text, "markdown": to_markdown, "html": to_html}[output_format]
        body = writer(pages, paginate, keep_furniture, layouts)
    return body, MIMETYPES[output_format]


def to_json_document(pages: list[PageResult], processing_time: float, with_layout: bool = False,
                     layouts: list[PageLayout] | None = None) -> dict:
    layouts = layouts or analyze_document(pages)
    return {"processing_time": round(processing_time, 3),
            "pages": [page.to_dict(layout, with_layout) for page, layout in zip(pages, layouts)]}


def page_marker(page: PageResult) -> str:
    """Marker's pagination line for a page, surrounded by its blank lines."""
    return f"\n\n{{{page.page - 1}}}{PAGE_SEPARATOR}\n\n"


@dataclass
class _Shown:
    """A block as the text formats show it: a paragraph that runs on carries the lines and
    text of its continuations too."""

    block: Block
    text: str
    lines: list[TextLine]


def _flow(pages: list[PageResult], layouts: list[PageLayout] | None, paginate: bool,
          keep_furniture: bool) -> list[list[_Shown]]:
    """Per page, the blocks to show in reading order. A paragraph or list item marked as
    running on takes in the next paragraph's text (across a page break only when not paginated, so
    each page keeps its own text)."""
    layouts = layouts or analyze_document(pages)
    out: list[list[_Shown]] = []
    carry: _Shown | None = None
    for layout in layouts:
        shown: list[_Shown] = []
        if paginate:
            carry = None
        for block in layout.blocks:
            if block.type in FURNITURE and not keep_furniture:
                continue
            lines = [layout.lines[k] for k in block.lines]
            if carry is not None and block.type == "paragraph":
                carry.text = join_lines([carry.text, block.text])
                carry.lines += lines
                carry = carry if block.continued else None
                continue
            item = _Shown(block, block.text, lines)
            shown.append(item)
            carry = item if block.type in ("paragraph", "list_item") and block.continued else None
        out.append(shown)
    return out


def to_text(pages: list[PageResult], paginate: bool = False, keep_furniture: bool = False,
            layouts: list[PageLayout] | None = None) -> str:
    """Blocks in reading order, a blank line between them, each block's lines as they are
    on the page (a row of boxes side by side is one line); a table a row per line, its
    cells separated by tabs. Pages follow each other unless `paginate`, which puts
    Marker's page marker before each page."""
    parts = []
    for page, shown in zip(pages, _flow(pages, layouts, paginate, keep_furniture)):
        texts = []
        for item in shown:
            table = item.block.table
            texts.append("\n".join("\t".join(row) for row in table.grid()) if table else
                         "\n".join(" ".join(line.text for line in row) for row in _rows(item.lines)))
        body = "\n\n".join(texts)
        parts.append(page_marker(page) + body if paginate else body)
    return _finish(("" if paginate else "\n\n").join(p for p in parts if p or paginate))


def to_markdown(pages: list[PageResult], paginate: bool = False, keep_furniture: bool = False,
            layouts: list[PageLayout] | None = None) -> str:
    """Headings by level, lists, GFM pipe tables with their header row, a paragraph per
    block; text escaped only where it would otherwise turn into markup."""
    parts = []
    for page, shown in zip(pages, _flow(pages, layouts, paginate, keep_furniture)):
        body = "\n\n".join(_markdown_block(item) for item in shown)
        parts.append(page_marker(page) + body if paginate else body)
    return _finish(("" if paginate else "\n\n").join(p for p in parts if p or paginate))


def _markdown_block(item: _Shown) -> str:
    block = item.block
    if block.table is not None:
        grid = block.table.grid()
        rows = [["" if not cell else _markdown_escape(cell, in_table=True) for cell in row] for row in grid]
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(" --- " for _ in rows[0]) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        return "\n".join(lines)
    if block.type == "heading":
        return "#" * max(1, min(block.level, 6)) + " " + _markdown_escape(item.text, at_start=False)
    if block.type == "list_item":
        rest = strip_marker(item.text, block.marker)
        number = marker_number(block.marker)
        if block.ordered and number is not None:
            return f"{number}. " + _markdown_escape(rest, at_start=False)
        if block.ordered:
            return "- " + _markdown_escape(f"{block.marker} {rest}", at_start=False)
        return "- " + _markdown_escape(rest, at_start=False)
    return _markdown_escape(item.text)


def _finish(text: str) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text)  # empty pages must not stack blank lines
    if not text.strip():
        return ""
    # Marker's paginated output starts with the separator's blank lines; keep them.
    return ("\n\n" + text.strip("\n") if text.startswith("\n\n") else text.strip("\n")) + "\n"


# Line starts CommonMark reads as blocks: ATX heading, bullet, ordered item, quote, a
# fence, an HTML block or a link reference definition, and lines of only - or = (thematic
# break, setext underline).
_MD_BLOCK_START = re.compile(
    r"^(?:#{1,6}(?:\s|$)|[-+*](?:\s|$)|\d{1,9}[.)](?:\s|$)|>|`{3,}|~{3,}|<[A-Za-z/!?]|\[[^\]]*\]:|[-=*_][-=*_\s]*$)"
)


def _markdown_escape(text: str, *, at_start: bool = True, in_table: bool = False) -> str:
    """Backslash-escape what CommonMark/GFM would read as markup, and only that: a `*` or
    `_` that could open or close emphasis (another one is on the line), a `[` that a `]`
    `](` follows, a `<` that could start a tag or an autolink, a backtick, `~` or `$` with a
    partner, a backslash before punctuation, an entity, a pipe inside a table, and line
    starts that would make blocks. A lone `[`, `*` or `<` stays as it is, so programs
    reading the text get the text."""
    escaped = _escape_inline(text, in_table)
    if at_start and _MD_BLOCK_START.match(escaped):
        digits = len(escaped) - len(escaped.lstrip("0123456789"))
        escaped = escaped[:digits] + "\\" + escaped[digits:]  # before the marker: "1\. x", "\# x"
    return escaped


def _escape_inline(text: str, in_table: bool) -> str:
    """The escapes inside the text (see `_markdown_escape`)."""
    if _MARKUP_CHARS.isdisjoint(text):
        return text  # most text: nothing to look at
    out = []
    counts = Counter(text)
    last_link = text.rfind("](")
    for k, char in enumerate(text):
        following = text[k + 1:k + 2]
        escape = False
        if char == "\\":
            escape = following in _ASCII_PUNCT and bool(following)
        elif char in "*_~$`":
            partner = counts[char] >= 2
            if char == "_":  # intraword underscores never make emphasis
                word = text[k - 1:k].isalnum() and following.isalnum()
                escape = partner and not word
            else:
                escape = partner
        elif char == "[":
            escape = last_link > k  # without a link definition (we write none) only [text](url) links
        elif char == "<":
            escape = bool(following) and following in _TAG_START
        elif char == "&":
            escape = bool(_ENTITY.match(text, k + 1))
        elif char == "|":
            escape = in_table
        out.append("\\" + char if escape else char)
    return "".join(out)


_MARKUP_CHARS = frozenset("\\*_~$`[<&|")
_TAG_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz/!?")
_ENTITY = re.compile(r"#?\w+;")
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def to_html(pages: list[PageResult], paginate: bool = False, keep_furniture: bool = False,
            layouts: list[PageLayout] | None = None) -> str:
    """A small semantic HTML5 document: <article>, a <section> per page when paginated,
    <h1>..<h6>, <p>, <ul>/<ol> of <li>, <table> with <thead>, <figcaption> for captions,
    <header>/<footer> for kept page furniture; every block's box in data-bbox."""
    body = []
    for page, shown in zip(pages, _flow(pages, layouts, paginate, keep_furniture)):
        blocks = _html_blocks(shown)
        if paginate:
            body.append(
                f'<section class="page" data-page-id="{page.page - 1}" data-page-number="{page.page}" '
                f'data-width="{page.width}" data-height="{page.height}" data-source="{_escape(page.source)}">\n'
                + "".join(block + "\n" for block in blocks)
                + "</section>"
            )
        else:
            body.extend(blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html>\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="generator" content="{_escape(_system_name())}">\n'
        "<title>OCR result</title>\n"
        "</head>\n<body>\n<article>\n" + "\n".join(body) + "\n</article>\n</body>\n</html>\n"
    )


def _html_blocks(shown: list[_Shown]) -> list[str]:
    out: list[str] = []
    open_list: str | None = None
    for item in shown:
        block = item.block
        box = f' data-bbox="{_fmt(block.box)}"'
        tag = ("ol" if block.ordered else "ul") if block.type == "list_item" else None
        if open_list and tag != open_list:
            out.append(f"</{open_list}>")
            open_list = None
        if tag and not open_list:
            out.append(f"<{tag}>")
            open_list = tag
        text = _html_lines(item.lines, block.marker if block.type == "list_item" else "")
        if block.type == "list_item":
            out.append(f'<li{box} data-marker="{_escape(block.marker)}">{text}</li>')
        elif block.type == "heading":
            level = max(1, min(block.level, 6))
            out.append(f"<h{level}{box}>{text}</h{level}>")
        elif block.table is not None:
            out.append(_html_table(block, box))
        elif block.type == "caption":
            out.append(f'<p class="caption"{box}>{text}</p>')
        elif block.type in FURNITURE:
            out.append(f"<{block.type}{box}>{text}</{block.type}>")
        else:
            out.append(f"<p{box}>{text}</p>")
    if open_list:
        out.append(f"</{open_list}>")
    return out


def _html_lines(lines: list[TextLine], marker: str = "") -> str:
    """A block's lines as <span class="line"> with their boxes and confidences, in reading
    order, a list item's marker left to its <li>; a word hyphenated at a line end is
    joined to its continuation (the hyphen goes), CJK lines meet without a space."""
    texts = [line.text.strip() for line in lines]
    if texts:
        texts[0] = strip_marker(texts[0], marker)
    out = []
    for k, line in enumerate(lines):
        text, separator = texts[k], ""
        if k + 1 < len(lines):
            how = joint(text, texts[k + 1])
            text, separator = (text[:-1], "") if how == "-" else (text, "\n" if how == " " else "")
        out.append(f'<span class="line" data-bbox="{" ".join(map(str, _bbox(line)))}" '
                   f'data-confidence="{line.confidence:.3f}">{_escape(text)}</span>{separator}')
    return "".join(out)


def _rows(lines: list[TextLine]) -> list[list[TextLine]]:
    """Consecutive lines side by side (their heights overlap by half) as one row."""
    rows: list[list[TextLine]] = []
    for line in lines:
        box = _bbox(line)
        if rows:
            last = _bbox(rows[-1][-1])
            overlap = min(box[3], last[3]) - max(box[1], last[1])
            if overlap >= 0.5 * max(min(box[3] - box[1], last[3] - last[1]), 1):
                rows[-1].append(line)
                continue
        rows.append([line])
    return rows


def _html_table(block: Block, box: str) -> str:
    assert block.table is not None
    table = block.table
    rows: dict[int, list[str]] = {}
    for cell in table.cells:
        tag = "th" if cell.row < table.header_rows else "td"
        spans = (f' colspan="{cell.colspan}"' if cell.colspan > 1 else "") + (
            f' rowspan="{cell.rowspan}"' if cell.rowspan > 1 else "")
        rows.setdefault(cell.row, []).append(
            f'<{tag}{spans} data-bbox="{_fmt(cell.box)}">{_escape(cell.text)}</{tag}>')
    head = [f"<tr>{''.join(rows.get(r, []))}</tr>" for r in range(min(table.header_rows, table.rows))]
    tail = [f"<tr>{''.join(rows.get(r, []))}</tr>" for r in range(table.header_rows, table.rows)]
    return (f"<table{box}>\n<thead>\n" + "\n".join(head) + "\n</thead>\n<tbody>\n" + "\n".join(tail)
            + "\n</tbody>\n</table>")


# hOCR classes per block type (kba/hocr-spec 1.2: ocr_carea for text areas, the float
# classes ocr_header, ocr_footer, ocr_table and ocr_caption for the others).
_HOCR_AREA = {"header": "ocr_header", "footer": "ocr_footer", "table": "ocr_table", "caption": "ocr_caption"}


def to_hocr(pages: list[PageResult], layouts: list[PageLayout] | None = None) -> str:
    """hOCR 1.2 (kba/hocr-spec) as XHTML: ocr_page > a block area (ocr_carea, or
    ocr_table, ocr_header, ocr_footer, ocr_caption) > ocr_par > ocr_line > ocrx_word,
    blocks and lines in reading order. Page numbers in ppageno are 0-based, as the spec
    says ("the front cover is page number 0"). Word boxes come from the recogniser's
    character positions (TextLine.words); lines without them (PDF text layers) share their
    box among their words in proportion to character counts. Confidences become x_wconf
    percentages."""
    layouts = layouts or analyze_document(pages)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"',
        '    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
        '<html xmlns="http://www.w3.org/1999/xhtml">',
        "<head>",
        "<title>OCR result</title>",
        '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>',
        f'<meta name="ocr-system" content="{_escape(_system_name())}"/>',
        '<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf '
        'ocr_table ocr_header ocr_footer ocr_caption"/>',
        f'<meta name="ocr-number-of-pages" content="{len(pages)}"/>',
        "</head>",
        "<body>",
    ]
    for page, layout in zip(pages, layouts):
        p = page.page
        out.append(
            f'<div class="ocr_page" id="page_{p}" title="bbox 0 0 {page.width} {page.height}; ppageno {p - 1}">'
        )
        line_no = word_no = 0
        for block_no, block in enumerate(layout.blocks, start=1):
            if not block.lines:
                continue
            area = _HOCR_AREA.get(block.type, "ocr_carea")
            lines = [layout.lines[k] for k in block.lines]
            box = _union([_bbox(line) for line in lines])
            out.append(f'<div class="{area}" id="block_{p}_{block_no}" title="bbox {_fmt(box)}">')
            out.append(f'<p class="ocr_par" id="par_{p}_{block_no}" title="bbox {_fmt(box)}">')
            for line in lines:
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


# --- boxes ----------------------------------------------------------------------


def _bbox(line: TextLine) -> tuple[int, int, int, int]:
    xs = [int(round(p[0])) for p in line.placement_box]
    ys = [int(round(p[1])) for p in line.placement_box]
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
    if vertical:
        return [(word, (x0, a, x1, b)) for word, a, b in spans_by_characters(text, y0, y1)]
    return [(word, (a, y0, b, y1)) for word, a, b in spans_by_characters(text, x0, x1)]


@cache
def _system_name() -> str:
    try:
        from importlib.metadata import version

        return f"ocrserve {version('ocrserve')}"
    except Exception:  # not installed as a distribution (e.g. run from a source tree)
        return "ocrserve"
