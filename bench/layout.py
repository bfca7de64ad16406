"""Layout benchmark (issue 22): reading order, headings, lists and tables, from our markdown.

    python -m bench.layout [--models ppocrv6-small ppocrv5-mobile] [--lang en zh]
                           [--only KIND ...] [--out DIR] [--json PATH] [--threads N] [--receipts N]

Pages, all deterministic (seed SEED):
- rendered pages (A4, 150 dpi, real fonts, mild scan damage as in bench.documents, via
  bench/pagekit.py) in English and Chinese, from bench/doctext/: kinds 1col, 2col, 3col (a
  spanning title above the columns), 1-2-1 (a full-width block between column sections), ruled
  (a full-grid table), borderless (aligned columns, a header row, empty cells). Every page has a
  running header and a footer with its page number; headings at two levels, numbered ("2.1 ..."),
  below a larger title; bullet and numbered lists; on column pages a paragraph continues into
  the next column;
- born-digital PDFs of kinds 2col, 1-2-1 and tables, drawn from the same layouts with reportlab
  (a text layer), read from the text layer and with --force-ocr (pixels);
- real public documents in bench/layoutdata/ (README there: sources and licences), one PDF per
  page, each with hand-written unit tests (JSON beside it) of four kinds: present, absent (running
  header/footer), order, table (a cell's right or lower neighbour or column heading). Read from
  pixels (the page rendered at 150 dpi with pypdfium2, PNG, force OCR) and from the PDF.

Our answer is the markdown of ocrcore.__main__.Reader (--format markdown, one Reader per model
set and way of reading, so models load once). On the synthetic pages read from pixels it is scored
a second time with recognition taken out ("true text"): each detected line and word is given the
characters drawn under its box (the page's glyph centres, turned by the scan's skew), and the same
layout renders them again, so what remains is the detector's boxes and the layout's order and
structure (ppocrv5-mobile drops characters in Chinese, which the page-text distance counts too). Peers on the same pages, scored from their plain
text the same way: Tesseract (`tesseract IMAGE - -l eng|chi_sim`, one thread) for pixels and poppler's
`pdftotext PDF -` for PDFs. Scoring: bench/layoutscore.py. Layout share: the seconds spent in
ocrcore.formats.render (where the layout runs) and in the engine's find_rulings (ruling lines
and bullet marks), both wrapped here, over the seconds of Reader.read; the same on the first
--receipts sroie-dev receipts, where the layout must cost nothing measurable.

Results go to bench/results/layout.json (--json), the docs' table is `python -m bench.report`.
With --out, every record (each real-page test and its outcome) goes to DIR/records.json too.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import layoutscore as score
from . import results
from .pagekit import BOLD_FONTS, DPI, FONTS, MARGIN, PAGE, draw_skew, scan_damage, wrap

HERE = Path(__file__).resolve().parent
TEXTS = HERE / "doctext"
REAL = HERE / "layoutdata"
RECEIPTS = HERE.parents[1] / "shared" / "datasets" / "sroie-dev" / "img"  # benchmarks may read ../shared
SEED = 22
KINDS = ("1col", "2col", "3col", "1-2-1", "ruled", "borderless")
PDF_KINDS = ("2col", "1-2-1", "ruled")
TESS_LANG = {"en": "eng", "zh": "chi_sim"}

# Titles, headings, table words: written for this benchmark, CC0-1.0 (bench/doctext/README.md).
TITLES = {
    "en": ["Reading Order on the Printed Page", "Notes on Columns and Tables", "How People Read Reports",
           "A Survey of Page Structure", "Headings, Lists and Ruled Tables", "Field Notes on Scanned Pages"],
    "zh": ["印刷页面的阅读顺序", "分栏与表格札记", "人们如何阅读报告", "页面结构概览", "标题、列表与表格", "扫描页面实录"],
}
SECTIONS = {
    "en": ["Introduction", "Methods", "Results", "Discussion", "Sources", "Remarks"],
    "zh": ["引言", "方法", "结果", "讨论", "资料", "附注"],
}
SUBSECTIONS = {
    "en": ["Background", "Sampling", "Scope", "Limits", "Measures", "Summary", "Context", "Outlook"],
    "zh": ["背景", "抽样", "范围", "局限", "指标", "小结", "缘起", "展望"],
}
TABLE_WORDS = {
    "en": (["Region", "Year", "Pages", "Share", "Note"],
           ["North", "South", "East", "West", "Central", "Coast", "Hills", "Plains", "Delta"],
           ["revised", "estimate", "final", "partial"]),
    "zh": (["地区", "年份", "页数", "比例", "备注"],
           ["北部", "南部", "东部", "西部", "中部", "沿海", "山区", "平原", "三角洲"],
           ["修订", "估计", "终稿", "部分"]),
}
RUNNING = {"en": ("Layout benchmark pages", "Page {n}"), "zh": ("版面基准测试页", "第 {n} 页")}


# ---------------------------------------------------------------- content

def _paragraphs(lang: str) -> list[str]:
    out = []
    for name in (f"{lang}.txt", f"{lang}-more.txt"):
        out += [p.strip() for p in (TEXTS / name).read_text(encoding="utf-8").splitlines() if p.strip()]
    return out


def _sentences(lang: str, paragraphs: list[str] | None = None) -> list[str]:
    """Short sentences cut from the paragraphs, for list items."""
    out = []
    for p in _paragraphs(lang) if paragraphs is None else paragraphs:
        if lang == "en":
            parts = [s.strip() for s in p.replace("; ", ". ").split(". ")]
            out += [s.rstrip(".") + "." for s in parts if 25 <= len(s) <= 110]
        else:
            parts = [s.strip() for s in p.replace("；", "。").split("。")]
            out += [s + "。" for s in parts if 8 <= len(s) <= 40]
    return out


class Content:
    """Draws titles, headings, paragraphs, list items and tables for one page, never the same
    paragraph twice on a page."""

    def __init__(self, lang: str, rng: np.random.Generator, number: int):
        self.lang, self.rng = lang, rng
        paragraphs = _paragraphs(lang)
        start = int(rng.integers(len(paragraphs)))
        self.paragraphs = paragraphs[start:] + paragraphs[:start]
        self.sentences = _sentences(lang)
        self.section = 0
        self.sub = 0
        self.title = TITLES[lang][number % len(TITLES[lang])]

    def paragraph(self) -> dict | None:
        if not self.paragraphs:
            return None
        return {"type": "paragraph", "text": self.paragraphs.pop(0)}

    def heading(self, level: int) -> dict:
        if level == 2:
            self.section += 1
            self.sub = 0
            name = SECTIONS[self.lang][(self.section - 1) % len(SECTIONS[self.lang])]
            return {"type": "heading", "level": 2, "text": f"{self.section} {name}"}
        self.sub += 1
        index = int(self.rng.integers(len(SUBSECTIONS[self.lang])))
        return {"type": "heading", "level": 3, "text": f"{max(self.section, 1)}.{self.sub} {SUBSECTIONS[self.lang][index]}"}

    def items(self, ordered: bool, n: int) -> list[dict]:
        """Sentences of paragraphs this page will not print (the last ones of its rotation)."""
        pool: list[str] = []
        while len(pool) < n and len(self.paragraphs) > 2:
            pool += _sentences(self.lang, [self.paragraphs.pop()])
        pool = pool or self.sentences
        picks = self.rng.choice(len(pool), size=min(n, len(pool)), replace=False)
        return [{"type": "list_item", "ordered": ordered, "text": pool[int(i)]} for i in sorted(picks)]

    def table(self, ruled: bool) -> dict:
        header, regions, notes = TABLE_WORDS[self.lang]
        rows = [list(header)]
        year = int(self.rng.integers(1990, 2015))
        for r, region in enumerate(self.rng.choice(regions, size=int(self.rng.integers(4, 7)), replace=False)):
            share = f"{self.rng.uniform(1, 60):.1f}%"
            cells = [str(region), str(year + r), f"{int(self.rng.integers(12, 4000)):,}", share,
                     str(notes[int(self.rng.integers(len(notes)))])]
            for c in (2, 3, 4):  # some empty cells, never a whole row
                if self.rng.random() < (0.5 if c == 4 else 0.12):
                    cells[c] = ""
            rows.append(cells)
        return {"type": "table", "ruled": ruled, "rows": rows}


def _spec(kind: str, c: Content) -> list[tuple[int, list[dict]]]:
    """A page kind -> its sections: (columns, blocks in reading order)."""
    title = [(1, [{"type": "heading", "level": 1, "text": c.title}])]
    p = c.paragraph
    if kind == "1col":
        body = [c.heading(2), p(), c.heading(3), p(), *c.items(False, 3), p(), c.heading(2), *c.items(True, 3), p()]
        return title + [(1, body)]
    if kind == "2col":
        return title + [(2, [c.heading(2), p(), p(), c.heading(3), p(), *c.items(False, 3), c.heading(2), p(), p()])]
    if kind == "3col":
        return title + [(3, [c.heading(2), p(), p(), c.heading(3), p(), p(), c.heading(2), *c.items(True, 3), p(), p()])]
    if kind == "1-2-1":
        return title + [(1, [p()]), (2, [c.heading(2), p(), c.heading(3), p(), p()]), (1, [c.table(True)]),
                        (2, [c.heading(2), p(), *c.items(False, 2), p()])]
    if kind == "ruled":
        return title + [(1, [p(), c.heading(2), c.table(True), p(), c.heading(2), p()])]
    if kind == "borderless":
        return title + [(1, [p(), c.heading(2), c.table(False), p(), c.heading(3), *c.items(False, 2)])]
    raise ValueError(kind)


# ---------------------------------------------------------------- layout: blocks -> drawing operations

@dataclass
class Piece:
    """Something placed in a column: its height and what it draws, relative to its top left."""
    height: float
    ops: list[tuple]
    block: int = -1
    gap: bool = False  # vertical space, dropped at the top of a column
    keep: bool = False  # a heading: stays with what follows


@dataclass
class Style:
    size: int
    body_font: str
    bold_font: str
    leading: float
    ink: int

    def font(self, bold: bool, size: int | None = None) -> tuple[str, int]:
        return (self.bold_font if bold else self.body_font), size or self.size


_FONT_CACHE: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def pil_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    key = (path, size)
    if key not in _FONT_CACHE:
        _FONT_CACHE[key] = ImageFont.truetype(path, size)
    return _FONT_CACHE[key]


def _text_pieces(text: str, font: tuple[str, int], width: float, lang: str, leading: float, ink: int,
                 indent: float = 0.0, hang: float = 0.0, marker: str | None = None, block: int = -1) -> list[Piece]:
    face = pil_font(*font)
    lines = wrap(text, face, width - hang, lang, indent)
    pieces = []
    for i, line in enumerate(lines):
        ops = [("text", hang + (indent if i == 0 else 0), 0, line, font, ink)]
        if i == 0 and marker:
            ops.append(("text", 0, 0, marker, font, ink))
        pieces.append(Piece(leading, ops, block))
    return pieces


def _table_piece(table: dict, style: Style, width: float, block: int) -> Piece:
    rows = table["rows"]
    body, bold = style.font(False), style.font(True)
    pad = style.size * 0.5
    natural = [max(pil_font(*(bold if r == 0 else body)).getlength(row[c]) for r, row in enumerate(rows)) + 2 * pad
               for c in range(len(rows[0]))]
    if table["ruled"]:
        widths = [w * width / sum(natural) for w in natural] if sum(natural) < width else natural
    else:
        gap = style.size * 2.0
        widths = [w + (gap if c < len(natural) - 1 else 0) for c, w in enumerate(natural)]
    row_h = style.size * 1.9
    ops: list[tuple] = []
    xs = [0.0]
    for w in widths:
        xs.append(xs[-1] + w)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if cell:
                ops.append(("text", xs[c] + pad, r * row_h + (row_h - style.size) / 2 - style.size * 0.1, cell,
                            bold if r == 0 else body, style.ink))
    height = row_h * len(rows)
    if table["ruled"]:
        for r in range(len(rows) + 1):
            ops.append(("rule", 0, r * row_h, xs[-1], r * row_h, 2))
        for x in xs:
            ops.append(("rule", x, 0, x, height, 2))
    return Piece(height + style.leading * 0.6, ops, block)


def _pieces(blocks: list[tuple[int, dict]], style: Style, width: float, lang: str) -> list[Piece]:
    out: list[Piece] = []
    for index, (bid, block) in enumerate(blocks):
        kind = block["type"]
        if kind == "heading":
            size = {1: int(style.size * 1.9), 2: int(style.size * 1.4), 3: int(style.size * 1.15)}[block["level"]]
            font = style.font(True, size)
            out.append(Piece(style.leading * (0.4 if block["level"] == 3 else 0.7), [], bid, gap=True))
            lines = _text_pieces(block["text"], font, width, lang, size * 1.35, style.ink, block=bid)
            for line in lines:
                line.keep = True
            out += lines
            out.append(Piece(style.leading * 0.3, [], bid, gap=True))
        elif kind == "paragraph":
            indent = 2 * style.size if lang == "zh" else 0
            out += _text_pieces(block["text"], style.font(False), width, lang, style.leading, style.ink, indent, block=bid)
            out.append(Piece(style.leading * 0.5, [], bid, gap=True))
        elif kind == "list_item":
            number = 1
            j = index - 1
            while j >= 0 and blocks[j][1]["type"] == "list_item" and blocks[j][1]["ordered"] == block["ordered"]:
                number += 1
                j -= 1
            marker = f"{number}." if block["ordered"] else "\u2022"
            out += _text_pieces(block["text"], style.font(False), width, lang, style.leading, style.ink,
                                hang=style.size * 1.6, marker=marker, block=bid)
            follows = blocks[index + 1][1] if index + 1 < len(blocks) else None
            last = not (follows and follows["type"] == "list_item" and follows["ordered"] == block["ordered"])
            out.append(Piece(style.leading * (0.5 if last else 0.15), [], bid, gap=True))
        elif kind == "table":
            out.append(_table_piece(block, style, width, bid))
    return out


def _fill(pieces: list[Piece], columns: int, cap: float) -> list[list[Piece]]:
    """Pieces into columns of at most `cap` (the last column takes the rest); a heading is never
    left at the bottom of a column."""
    cols: list[list[Piece]] = [[]]
    height = 0.0
    i = 0
    while i < len(pieces):
        piece = pieces[i]
        if piece.gap and not cols[-1]:
            i += 1
            continue
        need = piece.height
        j = i
        while pieces[j].keep and j + 1 < len(pieces):  # a heading and the line after it together
            j += 1
            need += pieces[j].height
        if cols[-1] and height + need > cap and len(cols) < columns and not piece.gap:
            cols.append([])
            height = 0.0
            continue
        cols[-1].append(piece)
        height += piece.height
        i += 1
    return cols


def _col_height(col: list[Piece]) -> float:
    while col and col[-1].gap:
        col = col[:-1]
    return sum(p.height for p in col)


@dataclass
class Layout:
    ops: list[tuple]
    blocks: list[dict]
    furniture: list[str]
    continued: int  # paragraphs that continue into the next column


def lay_out(kind: str, lang: str, number: int, rng: np.random.Generator) -> Layout:
    content = Content(lang, rng, number)
    sections = _spec(kind, content)
    size = {"1col": 24, "2col": 22, "3col": 20, "1-2-1": 21, "ruled": 24, "borderless": 24}[kind]
    size += int(rng.integers(-1, 2))
    style = Style(size, FONTS[lang][number % 2], BOLD_FONTS[lang][number % 2], size * float(rng.uniform(1.4, 1.6)),
                  int(rng.integers(0, 40)))
    header, footer = RUNNING[lang]
    footer = footer.format(n=number + 1)
    gutter = 40 if kind != "3col" else 34
    top, bottom = MARGIN + 10, PAGE[1] - MARGIN
    while True:
        ops: list[tuple] = []
        flat: list[dict] = []
        placed: list[tuple[int, list[tuple[int, dict]]]] = []
        for columns, blocks in sections:
            placed.append((columns, [(len(flat) + i, b) for i, b in enumerate(blocks) if b is not None]))
            flat += [b for b in blocks if b is not None]
        y = float(top)
        continued = 0
        for columns, blocks in placed:
            width = (PAGE[0] - 2 * MARGIN - (columns - 1) * gutter) / columns
            pieces = _pieces(blocks, style, width, lang)
            if columns == 1:
                cols = _fill(pieces, 1, float("inf"))
            else:
                lo, hi = max(p.height for p in pieces), sum(p.height for p in pieces)
                while hi - lo > 2:  # the lowest cap that fits in the columns: balanced columns
                    mid = (lo + hi) / 2
                    if max(_col_height(c) for c in _fill(pieces, columns, mid)) <= mid:
                        hi = mid
                    else:
                        lo = mid
                cols = _fill(pieces, columns, hi)
            for c, col in enumerate(cols):
                x, yy = MARGIN + c * (width + gutter), y
                for piece in col:
                    ops += [(op[0], x + op[1], yy + op[2], *op[3:]) if op[0] == "text" else
                            ("rule", x + op[1], yy + op[2], x + op[3], yy + op[4], op[5]) for op in piece.ops]
                    yy += piece.height
                if c + 1 < len(cols) and col and cols[c + 1]:
                    a = next(p for p in reversed(col) if not p.gap)
                    if a.block == cols[c + 1][0].block and flat[a.block]["type"] == "paragraph":
                        continued += 1
            y += max(_col_height(c) for c in cols) + style.leading * 0.6
        if y <= bottom or not any(len(b) > 1 for _, b in sections):
            break
        for _, blocks in reversed(sections):  # too long: drop the last block and lay out again
            if len(blocks) > 1:
                blocks.pop()
                break
    small = pil_font(FONTS[lang][0], 18)
    ops.append(("text", MARGIN, 50, header, (FONTS[lang][0], 18), 70))
    title_width = small.getlength(content.title)
    ops.append(("text", PAGE[0] - MARGIN - title_width, 50, content.title, (FONTS[lang][0], 18), 70))
    ops.append(("rule", MARGIN, 82, PAGE[0] - MARGIN, 82, 1))
    ops.append(("text", (PAGE[0] - small.getlength(footer)) / 2, PAGE[1] - 75, footer, (FONTS[lang][0], 18), 70))
    return Layout(ops, flat, [header, content.title, footer], continued)


# ---------------------------------------------------------------- renderers

def render_pixels(layout: Layout, rng: np.random.Generator) -> tuple[bytes, float]:
    """(JPEG bytes, the skew the scan damage gave the page)."""
    image = Image.new("L", PAGE, 255)
    draw = ImageDraw.Draw(image)
    for op in layout.ops:
        if op[0] == "text":
            _, x, y, text, (path, size), ink = op
            draw.text((x, y), text, fill=ink, font=pil_font(path, size))
        else:
            _, x0, y0, x1, y1, w = op
            draw.line([(x0, y0), (x1, y1)], fill=20, width=w)
    skew = draw_skew(rng)
    return scan_damage(image, rng, skew), skew


@dataclass
class Glyphs:
    """Where each character of a synthetic page landed in its pixels: its centre, the
    character, and which drawn string it is of, in drawing order."""
    x: np.ndarray
    y: np.ndarray
    chars: list[str]
    string: np.ndarray

    def text(self, held: np.ndarray) -> str:
        """The characters `held`, left to right; a space where one drawn string meets another
        (a list's number is drawn apart from its item's text)."""
        held = held[np.argsort(self.x[held], kind="stable")]
        out = []
        for k, i in enumerate(held):
            if k and self.string[i] != self.string[held[k - 1]]:
                out.append(" ")
            out.append(self.chars[i])
        return re.sub(r"\s+", " ", "".join(out)).strip()


def glyphs_of(layout: Layout, skew: float = 0.0) -> Glyphs:
    """Every drawn character's centre, turned as the scan turned the page (PIL's rotate: counter-
    clockwise by `skew` degrees about the page centre)."""
    xs, ys, chars, strings = [], [], [], []
    for number, op in enumerate(layout.ops):
        if op[0] != "text":
            continue
        _, x, y, text, (path, size), _ = op
        face = pil_font(path, size)
        middle = y + face.getmetrics()[0] - 0.35 * size  # PIL draws from the ascender line down
        left = 0.0
        for k, char in enumerate(text):
            right = face.getlength(text[:k + 1])
            xs.append(x + (left + right) / 2)
            ys.append(middle)
            chars.append(char)
            strings.append(number)
            left = right
    dx, dy = np.asarray(xs) - PAGE[0] / 2, np.asarray(ys) - PAGE[1] / 2
    turn = np.radians(skew)
    return Glyphs(PAGE[0] / 2 + dx * np.cos(turn) + dy * np.sin(turn),
                  PAGE[1] / 2 - dx * np.sin(turn) + dy * np.cos(turn), chars, np.asarray(strings))


def _inside(quad: list[list[int]], x: np.ndarray, y: np.ndarray, reach: float = 0.5) -> np.ndarray:
    """Which points lie in a convex quadrilateral (clockwise from top-left) lengthened at both
    ends by `reach` of its height: a box ends at the ink, and a character's centre (of its
    advance) can lie past it, as a full-width "。" or "，" does."""
    corners = np.asarray(quad, dtype=np.float64)
    along = corners[1] - corners[0]
    along /= max(float(np.hypot(*along)), 1e-9)
    grow = along * reach * float(np.hypot(*(corners[3] - corners[0])))
    corners = corners + np.array([-grow, grow, grow, -grow])
    signs = []
    for (ax, ay), (bx, by) in zip(corners, np.roll(corners, -1, axis=0)):
        signs.append((bx - ax) * (y - ay) - (by - ay) * (x - ax))
    crosses = np.stack(signs)
    return (crosses >= 0).all(axis=0) | (crosses <= 0).all(axis=0)


def with_true_text(lines: list, glyphs: Glyphs) -> list:
    """Each detected line (and word) given the true characters whose centres lie in its box
    (Glyphs.text); a character goes to the first line that holds it, a line holding none is
    dropped. What the recogniser read is gone; the detector's boxes stay, so a layout scored
    on these lines is scored on its own order and structure."""
    from dataclasses import replace

    free = np.ones(len(glyphs.chars), dtype=bool)
    out = []
    for line in lines:
        held = np.flatnonzero(free & _inside(line.bounding_box, glyphs.x, glyphs.y))
        if not len(held):
            continue
        free[held] = False
        text = glyphs.text(held)
        words = None
        if line.words:
            words = []
            unworded = np.ones(len(held), dtype=bool)
            for word in line.words:
                mine = unworded & _inside(word.bounding_box, glyphs.x[held], glyphs.y[held], 0.25)
                unworded &= ~mine
                word_text = glyphs.text(held[mine])
                if word_text:
                    words.append(replace(word, text=word_text))
            words = tuple(words) or None
        if text:
            out.append(replace(line, text=text, words=words))
    return out


_RL_FONTS: dict[str, str] = {}


def _rl_font(path: str) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    if path not in _RL_FONTS:
        if path.endswith(".ttc"):  # Noto CJK is CFF-flavoured, which reportlab cannot embed
            pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
            _RL_FONTS[path] = "STSong-Light"
        else:
            name = Path(path).stem
            pdfmetrics.registerFont(TTFont(name, path))
            _RL_FONTS[path] = name
    return _RL_FONTS[path]


def render_pdf(layout: Layout) -> bytes:
    """The same page drawn by reportlab: a born-digital PDF with a text layer."""
    from reportlab.pdfgen import canvas

    k = 72.0 / DPI
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(PAGE[0] * k, PAGE[1] * k), invariant=1)
    for op in layout.ops:
        if op[0] == "text":
            _, x, y, text, (path, size), ink = op
            ascent = pil_font(path, size).getmetrics()[0]
            pdf.setFont(_rl_font(path), size * k)
            pdf.setFillGray(ink / 255)
            pdf.drawString(x * k, (PAGE[1] - y - ascent) * k, text)
        else:
            _, x0, y0, x1, y1, w = op
            pdf.setLineWidth(w * k)
            pdf.line(x0 * k, (PAGE[1] - y0) * k, x1 * k, (PAGE[1] - y1) * k)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def pdf_to_png(data: bytes, dpi: float = DPI) -> bytes:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        image = document[0].render(scale=dpi / 72).to_pil()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------- the pages

@dataclass
class Page:
    name: str
    lang: str
    kind: str  # a KINDS entry, or "real"
    group: str  # "rendered", "pdf" or "real"
    pixels: bytes  # JPEG or PNG
    pdf: bytes | None = None
    truth: list[dict] = field(default_factory=list)
    furniture: list[str] = field(default_factory=list)
    tests: list[dict] = field(default_factory=list)
    continued: int = 0
    glyphs: Glyphs | None = None  # synthetic pages: where the true text lies in `pixels`


def make_pages(langs: list[str], only: list[str] | None) -> list[Page]:
    rng = np.random.default_rng(SEED)
    pages = []
    number = 0
    for lang in ("en", "zh"):
        for kind in KINDS:
            layout = lay_out(kind, lang, number, rng)
            jpeg, skew = render_pixels(layout, rng)
            pages.append(Page(f"{lang}-{kind}", lang, kind, "rendered", jpeg, None, layout.blocks,
                              layout.furniture, continued=layout.continued, glyphs=glyphs_of(layout, skew)))
            number += 1
        for kind in PDF_KINDS:
            layout = lay_out(kind, lang, number, rng)
            pdf = render_pdf(layout)
            pages.append(Page(f"pdf-{lang}-{kind}", lang, kind, "pdf", pdf_to_png(pdf), pdf, layout.blocks,
                              layout.furniture, continued=layout.continued, glyphs=glyphs_of(layout)))
            number += 1
    for spec in sorted(REAL.glob("*.json")):
        meta = json.loads(spec.read_text(encoding="utf-8"))
        pdf = (REAL / meta["pdf"]).read_bytes()
        pages.append(Page(spec.stem, meta.get("lang", "en"), "real", "real", pdf_to_png(pdf), pdf, tests=meta["tests"]))
    return [p for p in pages if p.lang in langs and (not only or p.kind in only or p.group in only)]


# ---------------------------------------------------------------- engines

class Timed:
    """Wraps what the layout costs to add up its seconds: ocrcore's render (where the layout
    runs) and the engine's find_rulings (ruling lines and bullet marks, timed inside det)."""

    def __init__(self):
        import ocrcore.__main__ as main_module
        import ocrcore.engine as engine
        import ocrcore.formats as formats

        self.seconds = 0.0
        self.render = formats.render  # unwrapped, for the true-text re-render, which is not timed
        self.last_call: tuple = ((), {})  # the last render's arguments, its pages first
        timed_render = self._timed(self.render)

        def render(*args, **kwargs):
            self.last_call = (args, kwargs)
            return timed_render(*args, **kwargs)

        formats.render = render
        if getattr(main_module, "render", None) is self.render:
            main_module.render = render
        engine.find_rulings = self._timed(engine.find_rulings)  # type: ignore[attr-defined]

    def _timed(self, function):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
        return timed


class Ours:
    def __init__(self, model: str, threads: int, timer: Timed):
        from ocrcore.__main__ import Reader, parse_args

        base = ["page", "--format", "markdown", "--model", model, "--threads", str(threads)]
        self.text = Reader(parse_args(base))
        self.ocr = Reader(parse_args(base + ["--force-ocr", "--dpi", str(DPI)]))  # PDFs' pixels at 150 dpi too
        self.timer = timer

    def read(self, data: bytes, pixels: bool) -> tuple[str, float, float]:
        """(markdown, seconds of the read, seconds in render)."""
        reader = self.ocr if pixels else self.text
        before = self.timer.seconds
        started = time.perf_counter()
        markdown = reader.read(data)
        elapsed = time.perf_counter() - started
        assert isinstance(markdown, str)
        return markdown, elapsed, self.timer.seconds - before

    def true_text_again(self, glyphs: Glyphs) -> str:
        """The last read's markdown again, its lines given the true text under their boxes
        (with_true_text): the layout on this model's boxes, without its recogniser's errors."""
        from dataclasses import replace

        (pages, *rest), kwargs = self.timer.last_call
        pages = [replace(page, lines=with_true_text(page.lines, glyphs)) for page in pages]
        markdown = self.timer.render(pages, *rest, **kwargs)[0]
        assert isinstance(markdown, str)
        return markdown


def tesseract(image: bytes, lang: str) -> tuple[str, float]:
    """Tesseract on one thread: its OpenMP threads spin-wait, and on 2 shared cores a real page
    took 52 s with OMP_THREAD_LIMIT=2 against 7.7 s with 1."""
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        Image.open(io.BytesIO(image)).save(f.name)
        started = time.perf_counter()
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        out = subprocess.run(["tesseract", f.name, "-", "-l", TESS_LANG[lang]], capture_output=True, env=env, check=True)
        return out.stdout.decode("utf-8", "replace"), time.perf_counter() - started


def pdftotext(pdf: bytes) -> tuple[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        started = time.perf_counter()
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", f.name, "-"], capture_output=True, check=True)
        return out.stdout.decode("utf-8", "replace"), time.perf_counter() - started


# ---------------------------------------------------------------- scoring a read

def score_read(page: Page, answer_md: str) -> dict:
    answer = score.parse_markdown(answer_md)
    if page.group == "real":
        results = [score.run_test(t, answer) for t in page.tests]
        return {"tests": [{"type": t["type"], "pass": ok} for t, ok in zip(page.tests, results)]}
    tables = score.table_scores(answer, page.truth)
    return {
        "order_ed": score.order_distance(answer, page.truth),
        "headings": score.heading_counts(answer, page.truth).as_dict(),
        "lists": score.list_counts(answer, page.truth).as_dict(),
        "cells": {k: v.as_dict() for k, v in tables.cells.items()},
        "teds": tables.teds,
    }


def _sum(records: list[dict], key: str, sub: str | None = None) -> score.Counts:
    total = score.Counts()
    for r in records:
        c = r[key][sub] if sub else r[key]
        total += score.Counts(c["tp"], c["pred"], c["truth"])
    return total


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["ppocrv6-small", "ppocrv5-mobile"])
    parser.add_argument("--lang", nargs="+", default=["en", "zh"], choices=["en", "zh"])
    parser.add_argument("--only", nargs="+", help=f"page kinds ({', '.join(KINDS)}) or groups (rendered, pdf, real, receipts)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the pages, their truth as markdown, and every answer here")
    parser.add_argument("--receipts", type=int, default=20, metavar="N",
                        help="also time the layout on the first N sroie-dev receipts (0: none)")
    results.json_option(parser, "layout")
    parser.add_argument("--no-peers", action="store_true", help="ours only")
    args = parser.parse_args(argv)

    started = results.machine()
    pages = make_pages(args.lang, args.only)
    receipts = sorted(RECEIPTS.glob("*.jpg"))[:args.receipts] if not args.only or "receipts" in args.only else []
    if not pages and not receipts:
        print("no pages selected", file=sys.stderr)
        return 1
    out: Path | None = args.out
    if out:
        out.mkdir(parents=True, exist_ok=True)
        for page in pages:
            ext = "jpg" if page.group == "rendered" else "png"
            (out / f"{page.name}.{ext}").write_bytes(page.pixels)
            if page.pdf is not None:
                (out / f"{page.name}.pdf").write_bytes(page.pdf)
            if page.truth:
                (out / f"{page.name}.truth.md").write_text(score.to_markdown(page.truth), encoding="utf-8")
    print(f"bench.layout: {len(pages)} pages (seed {SEED}): "
          + ", ".join(f"{g} {sum(p.group == g for p in pages)}" for g in ("rendered", "pdf", "real")))
    print(f"load {' '.join(open('/proc/loadavg').read().split()[:3])}, {args.threads} threads")

    def save(name: str, engine: str, how: str, text: str) -> None:
        if out:
            (out / f"{name}.{engine}.{how}.md").write_text(text, encoding="utf-8")

    # Peers: independent of our model set, read once.
    peers: dict[tuple[str, str, str], dict] = {}
    if not args.no_peers:
        for page in pages:
            text, seconds = tesseract(page.pixels, page.lang)
            save(page.name, "tesseract", "pixels", text)
            peers[(page.name, "tesseract", "pixels")] = {**score_read(page, text), "read_s": seconds}
            if page.pdf is not None:
                text, seconds = pdftotext(page.pdf)
                save(page.name, "pdftotext", "text", text)
                peers[(page.name, "pdftotext", "text")] = {**score_read(page, text), "read_s": seconds}

    timer = Timed()
    records: list[dict] = []
    for model in args.models if pages else []:
        engine = Ours(model, args.threads, timer)
        engine.read(pages[0].pixels, True)  # sessions and first shapes outside the timing
        for page in pages:
            ways = [("pixels", page.pixels if page.group != "pdf" else page.pdf)]
            if page.pdf is not None:
                ways.append(("text", page.pdf))
            for how, data in ways:
                assert data is not None
                markdown, seconds, layout_s = engine.read(data, how == "pixels")
                save(page.name, f"ours-{model}", how, markdown)
                record = {"model": model, "engine": "ours", "page": page.name, "lang": page.lang,
                          "kind": page.kind, "group": page.group, "read": how, "read_s": seconds,
                          "layout_s": layout_s, **score_read(page, markdown)}
                if how == "pixels" and page.glyphs is not None:
                    again = engine.true_text_again(page.glyphs)
                    save(page.name, f"ours-{model}", "truetext", again)
                    record["true_text"] = score_read(page, again)
                records.append(record)
        del engine
    for (name, engine_name, how), result in peers.items():
        page = next(p for p in pages if p.name == name)
        records.append({"model": None, "engine": engine_name, "page": name, "lang": page.lang, "kind": page.kind,
                        "group": page.group, "read": how, **result})

    receipt_cost = {}
    for model in args.models if receipts else []:
        engine = Ours(model, args.threads, timer)
        engine.read(receipts[0].read_bytes(), True)
        read_s = layout_s = 0.0
        for image in receipts:
            _, seconds, spent = engine.read(image.read_bytes(), True)
            read_s, layout_s = read_s + seconds, layout_s + spent
        receipt_cost[model] = {"receipts": len(receipts), "read_s": read_s / len(receipts),
                               "layout_s": layout_s / len(receipts), "layout_share": layout_s / read_s}
        print(f"{model}: {len(receipts)} sroie-dev receipts, {read_s / len(receipts):.3f} s each, of which the layout "
              f"(rulings, marks, blocks) {1000 * layout_s / len(receipts):.1f} ms = {100 * layout_s / read_s:.2f}%")
        del engine

    summary = report(pages, records, args.models)
    if out:
        (out / "records.json").write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    meta = {"seed": SEED, "models": args.models, "threads": args.threads, "langs": args.lang, "only": args.only,
            "pages": [{"name": p.name, "lang": p.lang, "kind": p.kind, "group": p.group,
                       "continued_paragraphs": p.continued, "tests": len(p.tests)} for p in pages]}
    per_page = [{**{k: r.get(k) for k in ("model", "engine", "page", "lang", "kind", "group", "read", "order_ed",
                                          "read_s", "layout_s")},
                 "true_text_order_ed": r["true_text"]["order_ed"] if "true_text" in r else None}
                for r in records if r["group"] != "real"]
    results.save("layout", {"meta": meta, "summary": summary, "pages": per_page, "receipts": receipt_cost},
                 args.json, started)
    print(f"load at the end: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    return 0


def _peer(records: list[dict], page: str, engine: str, how: str) -> dict | None:
    return next((r for r in records if r["page"] == page and r["engine"] == engine and r["read"] == how), None)


def report(pages: list[Page], records: list[dict], models: list[str]) -> dict:
    summary: dict = {}
    synthetic = [p for p in pages if p.group != "real"]
    real = [p for p in pages if p.group == "real"]
    for model in models:
        mine = [r for r in records if r["model"] == model]
        print(f"\n== {model}: rendered pages and born-digital PDFs ==")
        head = (f"{'page':<22}{'read':<7}{'order ED':>9}{'true ED':>9}{'tess ED':>9}{'pdftxt ED':>10}{'head F1':>9}"
                f"{'list F1':>9}{'ruled F1':>9}{'bless F1':>9}{'TEDS':>7}{'s/page':>8}{'layout':>8}")
        print(head)
        for page in synthetic:
            for r in (r for r in mine if r["page"] == page.name):
                tess = _peer(records, page.name, "tesseract", "pixels") if r["read"] == "pixels" else None
                ptt = _peer(records, page.name, "pdftotext", "text") if r["read"] == "text" else None
                teds = r["teds"]["ruled"] + r["teds"]["borderless"]
                cells = {k: (v["f1"] if v["truth"] else None) for k, v in r["cells"].items()}
                true_ed = r["true_text"]["order_ed"] if "true_text" in r else None
                print(f"{page.name:<22}{r['read']:<7}{r['order_ed']:>9.3f}{_fmt(true_ed):>9}"
                      f"{_fmt(tess and tess['order_ed']):>9}"
                      f"{_fmt(ptt and ptt['order_ed']):>10}"
                      f"{_fmt(r['headings']['f1'] if r['headings']['truth'] else None, '.2f'):>9}"
                      f"{_fmt(r['lists']['f1'] if r['lists']['truth'] else None, '.2f'):>9}"
                      f"{_fmt(cells['ruled'], '.2f'):>9}{_fmt(cells['borderless'], '.2f'):>9}"
                      f"{_fmt(sum(teds) / len(teds) if teds else None, '.2f'):>7}{r['read_s']:>8.2f}"
                      f"{100 * r['layout_s'] / r['read_s']:>7.1f}%")
        rows = {}
        print(f"\n{'summary (' + model + ')':<34}{'order ED':>9}{'true ED':>9}{'tess ED':>9}{'pdftxt ED':>10}"
              f"{'head F1':>9}{'list F1':>9}{'ruled F1':>9}{'bless F1':>9}{'TEDS':>7}{'layout':>8}")
        groups = [(f"{lang} {kind} {g}", [p.name for p in synthetic if p.lang == lang and
                                         (p.kind == kind if kind != "all" else True) and p.group == g])
                  for g in ("rendered", "pdf") for lang in ("en", "zh") for kind in ("1col", "2col", "3col", "1-2-1", "all")]
        for label, names in groups:
            for how in ("pixels", "text"):
                sel = [r for r in mine if r["page"] in names and r["read"] == how]
                if not sel or not names:
                    continue
                tess = [_peer(records, r["page"], "tesseract", "pixels") for r in sel if how == "pixels"]
                ptt = [_peer(records, r["page"], "pdftotext", "text") for r in sel if how == "text"]
                tess = [t for t in tess if t]
                ptt = [t for t in ptt if t]
                teds = [t for r in sel for t in r["teds"]["ruled"] + r["teds"]["borderless"]]
                h, li = _sum(sel, "headings"), _sum(sel, "lists")
                true = [r["true_text"] for r in sel if "true_text" in r]
                th, tl = _sum(true, "headings"), _sum(true, "lists")
                ru, bl = _sum(sel, "cells", "ruled"), _sum(sel, "cells", "borderless")
                row = {
                    "pages": len(sel),
                    "order_ed_mean": sum(r["order_ed"] for r in sel) / len(sel),
                    "order_ed_max": max(r["order_ed"] for r in sel),
                    "tesseract_order_ed_mean": sum(t["order_ed"] for t in tess) / len(tess) if tess else None,
                    "pdftotext_order_ed_mean": sum(t["order_ed"] for t in ptt) / len(ptt) if ptt else None,
                    "true_text_order_ed_mean": sum(t["order_ed"] for t in true) / len(true) if true else None,
                    "true_text_order_ed_max": max(t["order_ed"] for t in true) if true else None,
                    "heading_f1": h.f1 if h.truth else None, "list_f1": li.f1 if li.truth else None,
                    "true_text_heading_f1": th.f1 if true and th.truth else None,
                    "true_text_list_f1": tl.f1 if true and tl.truth else None,
                    "ruled_cell_f1": ru.f1 if ru.truth else None, "borderless_cell_f1": bl.f1 if bl.truth else None,
                    "teds": sum(teds) / len(teds) if teds else None,
                    "layout_share": sum(r["layout_s"] for r in sel) / sum(r["read_s"] for r in sel),
                }
                rows[f"{label} {how}"] = row
                print(f"{label + ' ' + how:<34}{row['order_ed_mean']:>9.3f}{_fmt(row['true_text_order_ed_mean']):>9}"
                      f"{_fmt(row['tesseract_order_ed_mean']):>9}"
                      f"{_fmt(row['pdftotext_order_ed_mean']):>10}{_fmt(row['heading_f1'], '.2f'):>9}"
                      f"{_fmt(row['list_f1'], '.2f'):>9}{_fmt(row['ruled_cell_f1'], '.2f'):>9}"
                      f"{_fmt(row['borderless_cell_f1'], '.2f'):>9}{_fmt(row['teds'], '.2f'):>7}"
                      f"{100 * row['layout_share']:>7.1f}%")
        summary[model] = {"synthetic": rows}
        if real:
            summary[model]["real"] = _report_real(real, records, model)
    return summary


def _report_real(real: list[Page], records: list[dict], model: str) -> dict:
    columns = [("ours pixels", "ours", "pixels"), ("ours pdf", "ours", "text"),
               ("tesseract", "tesseract", "pixels"), ("pdftotext", "pdftotext", "text")]

    def pick(page: str, engine: str, how: str) -> dict | None:
        return next((r for r in records if r["page"] == page and r["engine"] == engine and r["read"] == how
                     and (r["model"] == model or engine != "ours")), None)

    print(f"\n== {model}: real pages, unit tests passed ==")
    print(f"{'page':<34}{'tests':>6}" + "".join(f"{c[0]:>13}" for c in columns) + f"{'layout':>8}")
    for page in real:
        cells = []
        for _, engine, how in columns:
            r = pick(page.name, engine, how)
            cells.append("-" if r is None else f"{sum(t['pass'] for t in r['tests'])}/{len(r['tests'])}")
        r = pick(page.name, "ours", "pixels")
        share = f"{100 * r['layout_s'] / r['read_s']:.1f}%" if r else "-"
        print(f"{page.name:<34}{len(page.tests):>6}" + "".join(f"{c:>13}" for c in cells) + f"{share:>8}")
    out: dict = {}
    print(f"{'pass rate by kind':<34}{'tests':>6}" + "".join(f"{c[0]:>13}" for c in columns))
    for kind in (*score.TEST_KINDS, "all"):
        n = sum(1 for p in real for t in p.tests if kind in ("all", t["type"]))
        rates = {}
        for label, engine, how in columns:
            results = [t["pass"] for p in real if (r := pick(p.name, engine, how)) for t in r["tests"]
                       if kind in ("all", t["type"])]
            rates[label] = sum(results) / len(results) if results else None
        out[kind] = {"tests": n, **rates}
        print(f"{kind:<34}{n:>6}" + "".join(f"{_fmt(v and 100 * v, '.0f') + ('%' if v is not None else ''):>13}"
                                           for v in rates.values()))
    return out


if __name__ == "__main__":
    sys.exit(main())
