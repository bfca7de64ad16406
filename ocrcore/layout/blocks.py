"""Rows of a column region -> typed blocks: paragraphs, headings, list items, captions.

A row (the lines side by side on one visual row) joins the block above it when it sits
under it in the same column, close (the page's usual line gap plus half a line, at least
0.75 line heights, as before the layout existed), at the same text size, and does not
start a list item or an indented paragraph. A heading is a short block whose text is
larger than the body's (height and character width together: a heading without
descenders is no taller than body text, but its letters are wider), or a short
numbered line standing alone ("2.1 Methods"). Paragraph text is rebuilt across line
breaks: a word hyphenated at a line end is joined again; CJK lines join without a space.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .geometry import Item

# A heading's text is at least this much larger than body text (geometric mean of the
# height and character-width ratios).
HEADING_SIZE = 1.15
_HEADING_MAX_CHARS = 160
_HEADING_MAX_ROWS = 3
_PARAGRAPH_GAP = 0.45
_NUMBERED_MAX_CHARS = 80
# A line ending this many body line heights short of the next is not a paragraph's inner line.
_SHORT_LINE = 2.0
# Symbol bullets may touch their text; dashes, stars and pluses need a space after them
# (and a dash pair "--" is punctuation, not a bullet).
BULLET = re.compile(r"^([•·●○◦▪▫■□‣⁃∙◆◇►▸➢✓✔](?=\s*\S)|[*+\-–—](?=\s+\S))\s*")
# Chinese numbering needs no space before its text and has its own stops: "1.图像", "2．",
# "3、", "（4）".
_CJK_NUMBER = r"(?:\d{1,3}[.)．、）]|[（(]\d{1,3}[）)])(?=\s*[\u4e00-\u9fff])"
ORDERED = re.compile(r"^((?:\(?(?:\d{1,3}|[a-zA-Z]|[ivxIVX]{1,4})[.)]|\((?:\d{1,3}|[a-zA-Z]|[ivx]{1,4})\))(?=\s+\S)"
                     r"|" + _CJK_NUMBER + r")\s*")
_CJK_ORDERED = re.compile(_CJK_NUMBER)
# "2.1 Methods", "IV. Results", "第三章 ...", "2.1 方法": a section number, then a capitalised
# or CJK title. The recogniser drops the space between a number and CJK text ("1引言"); a
# number followed by a unit or measure word is a quantity or date ("12月3日", "3个").
NUMBERED_HEADING = re.compile(
    r"^(?:(\d{1,2}(?:\.\d{1,2}){0,3})(?:\.?\s+(?=[A-Z][^\W\d_])|\.?\s*(?=[\u4e00-\u9fff])(?![年月日号时点分秒周"
    r"个只件位名人元角岁层楼次倍章节]))"
    r"|[IVX]{1,5}\.\s+(?=[A-Z])|第[一二三四五六七八九十百\d]+[章节部分篇]\s*(?=\S))"
)
CAPTION = re.compile(
    r"^(?:figure|fig\.|table|tab\.|chart|exhibit|plate|图|表)\s*[\dIVX一二三四五六七八九十]", re.IGNORECASE
)
_CLAUSE_END = (",", "，", "、")
_MARKER_NUMBER = re.compile(r"^[(（]?(\d{1,9})[.)．、）]?[)）]?$")
_SENTENCE_END = tuple(".!?:;。！？：；」』”\")")
_CJK = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_WORD_CHAR = re.compile(r"[^\W_]")  # a heading has a letter or digit ("…" set large is not one)
_HYPHENATED = re.compile(r"[^\W\d_][-\u00ad\u2010]$")  # a word broken at the line end


def marker_number(marker: str) -> int | None:
    """The number of an ordered item's marker ("2.", "(3)", "4、", "（5）"); None for a
    letter or a roman numeral ("a)", "iv.")."""
    found = _MARKER_NUMBER.match(marker)
    return int(found.group(1)) if found else None


@dataclass
class Row:
    items: list[Item]

    @property
    def x0(self) -> int:
        return min(i.x0 for i in self.items)

    @property
    def x1(self) -> int:
        return max(i.x1 for i in self.items)

    @property
    def y0(self) -> int:
        return min(i.y0 for i in self.items)

    @property
    def y1(self) -> int:
        return max(i.y1 for i in self.items)

    @property
    def height(self) -> float:
        return max(i.height for i in self.items)

    @property
    def text(self) -> str:
        return " ".join(i.text for i in self.items)


@dataclass
class Draft:
    """A block being built: its rows, then its type."""

    rows: list[Row]
    type: str = "paragraph"
    size: float = 1.0
    depth: int = 0  # a numbered heading's depth ("2.1" is 2)
    marker: str = ""
    ordered: bool = False
    continued: bool = False
    items: list[Item] = field(default_factory=list)

    @property
    def text(self) -> str:
        return join_lines([row.text for row in self.rows])


def size_of(row: Row, line_height: float, char_width: float) -> float:
    """The row's text size relative to body text."""
    height = row.height / max(line_height, 1.0)
    widths = [i.char_width for i in row.items]
    chars = sum(widths) / len(widths) / max(char_width, 1e-6)
    return math.sqrt(max(height, 1e-6) * max(chars, 1e-6))


def paragraph_gap(rows: list[Row], line_height: float) -> float:
    """The gap between rows above which a new block starts: the page's usual line gap (the
    lower quartile, as paragraph gaps may abound) plus 0.4 lines, at least 0.45 lines.
    OCR boxes of single-spaced lines are 0.2-0.4 lines apart and a blank line is ~1; a
    born-digital page's glyph boxes touch (gap ~0) and its paragraphs are often set only
    half a line apart (6 pt at 10/12 pt)."""
    gaps = [b.y0 - a.y1 for a, b in zip(rows, rows[1:]) if _overlaps(a, b) and b.y0 - a.y1 >= 0]
    usual = sorted(gaps)[len(gaps) // 4] if gaps else 0
    return max(_PARAGRAPH_GAP * line_height, usual + 0.4 * line_height)


def build_blocks(rows: list[Row], line_height: float, char_width: float, threshold: float) -> list[Draft]:
    """Consecutive rows (in reading order) grouped into typed blocks."""
    drafts: list[Draft] = []
    for row in rows:
        size = size_of(row, line_height, char_width)
        marker = _list_marker(row.text)
        current = drafts[-1] if drafts else None
        if current is not None and _continues(current, row, size, marker, threshold, line_height):
            current.rows.append(row)
            continue
        drafts.append(Draft([row], size=size, marker=marker or ""))
    for draft in drafts:
        _classify(draft, line_height)
    for k, draft in enumerate(drafts):
        if _lone_cjk_numbered(drafts, k):
            draft.marker, draft.type, draft.ordered = "", "paragraph", False
            _classify(draft, line_height)
    return drafts


def _lone_cjk_numbered(drafts: list[Draft], k: int) -> bool:
    """A one-line item numbered the Chinese way ("1.引言") that reads as a section heading (short,
    no sentence end) with no item beside it is the heading it reads as: a list has siblings."""
    draft = drafts[k]
    if draft.type != "list_item" or len(draft.rows) != 1 or not _CJK_ORDERED.match(draft.text):
        return False
    if not _numbered_line(draft.text) or ends_sentence(draft.text):
        return False
    return not any(0 <= j < len(drafts) and drafts[j].type == "list_item" for j in (k - 1, k + 1))


def _overlaps(a: Row, b: Row) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 0


def _continues(block: Draft, row: Row, size: float, marker: str | None, threshold: float, line_height: float) -> bool:
    last = block.rows[-1]
    gap = row.y0 - last.y1
    if not _overlaps(last, row) or gap > threshold or gap < -0.5 * line_height:
        return False
    if marker is not None and not _wrapped_dash(block, row, marker, line_height):
        return False
    big, was_big = size >= HEADING_SIZE, block.size >= HEADING_SIZE
    # A sentence does not stop at a comma for a heading: a line after one goes on, whatever
    # size its box measures (a detector's box can be a fifth too tall).
    mid_clause = last.text.rstrip().endswith(_CLAUSE_END)
    if not mid_clause and (big != was_big or (big and max(size, block.size) / min(size, block.size) > 1.25)):
        return False  # text grows or shrinks into a heading, or one heading size to another
    if block.marker:  # a list item goes on under its text (hanging or flush)
        return True
    # A numbered line stopping short of the line under it stands alone: a section heading set
    # at body size ("1.1 抽样" in bold CJK measures as body text), not a paragraph's first line.
    if len(block.rows) == 1 and _numbered_line(last.text) and row.x1 - last.x1 >= _SHORT_LINE * line_height:
        return False
    # A first-line indent under a flush line starts a paragraph (not the second line under
    # an indented first one).
    flush = len(block.rows) >= 2 and last.x0 <= block.rows[0].x0 + 0.5 * line_height
    return not (flush and row.x0 - last.x0 >= 1.0 * line_height)


def _wrapped_dash(block: Draft, row: Row, marker: str, line_height: float) -> bool:
    """A dash opening a line flush under a paragraph's full line that ends mid-sentence is the
    paragraph's own dash ("... remaining before us -- that from these"), wrapped to the line's
    start, not a bullet: a list after a paragraph follows its end (a short line or a stop)."""
    if block.marker or block.type != "paragraph" or marker not in "-–—":
        return False
    last = block.rows[-1]
    full = last.x1 >= max(r.x1 for r in [*block.rows, row]) - line_height
    return full and abs(row.x0 - last.x0) <= 0.5 * line_height and not ends_sentence(last.text)


def _list_marker(text: str) -> str | None:
    match = BULLET.match(text) or ORDERED.match(text)
    return match.group(1) if match else None


def _numbered_line(text: str) -> bool:
    """A line that reads as a numbered section heading: a section number, a title of at most
    80 characters with a letter in it, no sentence end."""
    return bool(NUMBERED_HEADING.match(text)) and len(text) <= _NUMBERED_MAX_CHARS \
        and not text.endswith(_SENTENCE_END[:3]) and bool(re.search(r"[^\W\d_]", text))


def _classify(draft: Draft, line_height: float) -> None:
    text = draft.text
    first = draft.rows[0].text
    if draft.marker:
        if draft.size >= HEADING_SIZE and ORDERED.match(first) and len(draft.rows) <= _HEADING_MAX_ROWS:
            draft.marker = ""  # "1. Introduction" set large is a heading
        else:
            draft.type = "list_item"
            draft.ordered = bool(ORDERED.match(first)) and not BULLET.match(first)
            return
    if CAPTION.match(text):
        draft.type = "caption"
        return
    short = len(text) <= _HEADING_MAX_CHARS and len(draft.rows) <= _HEADING_MAX_ROWS
    if short and draft.size >= HEADING_SIZE and not text.endswith((",", ";")) and _WORD_CHAR.search(text):
        draft.type = "heading"
    else:
        numbered = NUMBERED_HEADING.match(first)
        if numbered and len(draft.rows) == 1 and _numbered_line(text):
            draft.type = "heading"
            draft.depth = numbered.group(1).count(".") + 1 if numbered.group(1) else 1
    if draft.type == "heading" and not draft.depth:
        numbered = NUMBERED_HEADING.match(first)
        draft.depth = numbered.group(1).count(".") + 1 if numbered and numbered.group(1) else 0


def strip_marker(text: str, marker: str) -> str:
    """A list item's text without its bullet or number."""
    return text[len(marker):].lstrip() if marker and text.startswith(marker) else text


def joint(before: str, after: str) -> str:
    """How two lines of a paragraph meet: "-" where a word hyphenated at the line end goes
    on in lower case (the hyphen goes, no space); "" where it goes on in a capital or a digit
    (a compound's own hyphen stays: "Soekarno-Hatta", "Kaukasus-Republiken") and between CJK
    lines; else " "."""
    if _HYPHENATED.search(before[-2:]) and after[:1].isalnum():
        return "-" if after[:1].islower() else ""
    if before and after and _CJK.match(before[-1]) and _CJK.match(after[0]):
        return ""
    return " "


def join_lines(texts: list[str]) -> str:
    """Lines of one paragraph as one string (see `joint`)."""
    out = ""
    for text in texts:
        text = text.strip()
        if not text:
            continue
        if not out:
            out = text
            continue
        how = joint(out, text)
        out = out[:-1] + text if how == "-" else out + how + text
    return out


def ends_sentence(text: str) -> bool:
    return text.rstrip().endswith(_SENTENCE_END)


def starts_lowercase(text: str) -> bool:
    return text[:1].islower()


def is_cjk(char: str) -> bool:
    return bool(_CJK.match(char))
