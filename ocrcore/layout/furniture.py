"""Page furniture: running headers, footers, page numbers and margin stamps.

On one page: a page number (or a chapter-page folio such as "7-45") or a form's stamp
("Catalog No. 21974B") in the top or bottom band; a row in the band set off from the
body by a wide gap or by a rule across the page and no larger than body text, or holding
one folio or stamp and set off by a blank line; a vertical line in a side margin, long or
wholly beyond the text (a stamp such as a preprint server's or a typesetter's slug); a
column of line numbers in a margin or a gutter (a transcript's, a patent's). A page number
alone under the body and set off from it is a footer up to FOLIO_BAND from the foot.
Margin stamps and line numbers are typed "header", as the block types have no margin kind.
Across a document's pages: text that comes back in the same band at about the same
height, digits aside ("Page 3 of 9", "Annual Report 2024").
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from ..types import TextLine
from .geometry import Item, Segment, rows_of
from .order import PROSE_WIDTH

# Bands, as shares of the page height: running heads and feet live there.
BAND = 0.10
FOLIO_BAND = 0.25  # the foot's band for a page number alone
REPEAT_BAND = 0.15
# Side margins, as shares of the page width, and the heights (shares of the page height) of
# vertical lines there that are stamps: any beyond the text, or long ones anywhere in the band.
STAMP_MARGIN = 0.12
SHORT_STAMP = 0.05
LONG_STAMP = 0.2
# A lone row in a band is furniture when the gap to the body is this many line heights.
_SET_OFF = 2.0
PAGE_NUMBER = re.compile(
    r"^(?:page|pg\.?|p\.|seite|第)?\s*[-–—(\[|]?\s*(?:\d{1,5}|[ivxlcdm]{1,7})\s*[-–—)\]|]?\s*"
    r"(?:(?:of|/|von|de)\s*\d{1,4})?\s*(?:页|頁)?$"
    # Chapter-page folios of handbooks and manuals: "7-45", "A-3", "12–104".
    r"|^(?:\d{1,3}|[A-Z])\s*[-–—]\s*\d{1,4}$",
    re.IGNORECASE,
)
# A form's or publication's stamp at the page's edge: "Catalog No. 21974B", "Form W-4 (2020)",
# "Rev. 12-2019", "Publication 519": an identifier with a digit, after the word that names it.
_FORM_STAMP = re.compile(
    r"^(?:(?:cat(?:alog)?\.?|order|stock)\s*(?:no\.?|number|#)|form|rev(?:ised|\.)|publication|pub\.)"
    r"\s*[\w./()#-]*\d[\w./()#-]*(?:\s+[\w./()#-]*\d[\w./()#-]*)*$",
    re.IGNORECASE,
)


# Line numbers (_line_numbers): a bare number of up to 3 digits, LINE_NUMBERS or more in a column.
_LINE_NUMBER = re.compile(r"^\d{1,3}$")
LINE_NUMBERS = 5
_NUMBERED_HEAD = re.compile(r"^\d{1,5}\s+\S.*\S\s*[/|·•]|[/|·•]\s*(?:\S.*\s)?\d{1,5}$")


def page_furniture(items: list[Item], width: int, height: int, line_height: float,
                   rules: Sequence[Segment] = (), uprights: Sequence[Segment] = ()) -> dict[int, str]:
    """item index -> "header" or "footer" for this page's furniture. `rules` and `uprights`:
    the page's horizontal and vertical rulings, deskewed (start, end, position)."""
    out: dict[int, str] = {}
    across = [item for item in items if not item.vertical]
    for item in items:
        if item.vertical and _is_margin_stamp(item, across, width, height):
            out[item.index] = "header"
    for index in _line_numbers([item for item in across if item.index not in out], line_height):
        out[index] = "header"
    body = [item for item in items if item.index not in out]
    rows = rows_of(body)
    # Set off: by _SET_OFF lines, and a line more than the page's usual gap between rows (its
    # lower quartile), so that on a double-spaced page (a transcript's rows ~2.3 lines apart)
    # the first line of the body is not a running head.
    gaps = sorted(g for a, b in zip(rows, rows[1:]) if (g := min(i.y0 for i in b) - max(i.y1 for i in a)) > 0)
    set_off = max(_SET_OFF * line_height, (gaps[len(gaps) // 4] if gaps else 0) + line_height)
    for kind, ordered in (("header", rows), ("footer", rows[::-1])):
        for k, row in enumerate(ordered[:3]):
            rest = ordered[k + 1:]
            if not rest:
                break  # a page of only this row: it is the page's text
            nxt = rest[0]
            gap = (min(i.y0 for i in nxt) - max(i.y1 for i in row) if kind == "header"
                   else min(i.y0 for i in row) - max(i.y1 for i in nxt))
            # The band; at the foot, wider for a page number alone set off by a blank line
            # (LaTeX's default margins put it ~16% of the page up). At the head a lone number
            # that low is more likely a chapter's.
            folio = kind == "footer" and gap >= line_height and all(PAGE_NUMBER.match(i.text) for i in row)
            band = FOLIO_BAND if folio else BAND
            in_band = (max(i.y1 for i in row) <= band * height if kind == "header"
                       else min(i.y0 for i in row) >= (1 - band) * height)
            if not in_band:
                break
            small = max(i.height for i in row) <= 1.3 * line_height
            stamps = sum(1 for i in row if PAGE_NUMBER.match(i.text) or _FORM_STAMP.match(i.text))
            # Page numbers and stamps alone, or a number opening or closing a running head
            # ("47700 Federal Register / Vol. 85", "Annual Report | 12"). One folio or stamp
            # beside other pieces (a web address, a form's name): a foot or head line when a
            # blank line or more parts it from the body. Two or more bare numbers with other
            # pieces are more likely a table's row.
            numbered = (stamps == len(row) or bool(_NUMBERED_HEAD.search(" ".join(i.text for i in row)))
                        or (stamps == 1 and small and gap >= line_height))
            ruled_off = k == 0 and _ruled_off(row, nxt, kind, rules, uprights, width, line_height)
            if numbered or (small and (gap >= set_off or ruled_off)):
                for i in row:
                    out[i.index] = kind
            else:
                break
    return out


def _ruled_off(row: list[Item], nxt: list[Item], kind: str, rules: Sequence[Segment],
               uprights: Sequence[Segment], width: int, line_height: float) -> bool:
    """The page's first (last) row with a rule under (over) it that runs across it and
    across half the page or more, parting it from the body: a running head's (foot's)
    rule. It stands alone: the top (bottom) edge of a drawn box or table, which vertical
    rulings meet, is not one."""
    low: float
    high: float
    if kind == "header":
        low, high = max(i.y1 for i in row) - 0.25 * line_height, min(i.y0 for i in nxt)
    else:
        low, high = max(i.y1 for i in nxt), min(i.y0 for i in row) + 0.25 * line_height
    x0, x1 = min(i.x0 for i in row), max(i.x1 for i in row)
    tol = 0.5 * line_height
    return any(low <= y <= high and start <= x0 + line_height and end >= x1 - line_height
               and end - start >= 0.5 * width
               and not any(top - tol <= y <= bottom + tol and start - tol <= x <= end + tol
                           for top, bottom, x in uprights)
               for start, end, y in rules)


def _line_numbers(items: list[Item], line_height: float) -> list[int]:
    """Indices of line numbers: a transcript's, a pleading's or a bill's in the left margin,
    a patent's in the gutter. They make a column of bare numbers counting on by 1, 5 or 10
    at a steady pitch, each set apart from the text of its row, with text only to their
    right or on both sides (a table of contents' page numbers, at the right, are not). Their
    rows hold one line of text on a side, most of them, and some rows are a line of prose
    or hold nothing else: a table's column of row numbers, beside cells, is data."""
    numbers = sorted((i for i in items if _LINE_NUMBER.match(i.text) and i.height <= 1.5 * line_height),
                     key=lambda i: (i.x0 + i.x1) / 2)
    columns: list[list[Item]] = []
    for item in numbers:
        if columns and (item.x0 + item.x1) / 2 - (columns[-1][-1].x0 + columns[-1][-1].x1) / 2 <= 0.5 * line_height:
            columns[-1].append(item)
        else:
            columns.append([item])
    out: list[int] = []
    for column in columns:
        for run in _counting_runs(sorted(column, key=lambda i: i.y0), line_height):
            if _numbering_lines(run, items, line_height):
                out += [i.index for i in run]
    return out


def _counting_runs(column: list[Item], line_height: float) -> list[list[Item]]:
    """Runs of LINE_NUMBERS or more numbers, top to bottom, each counting on from the last by
    one step (1, 5 or 10) at a steady pitch (within a fifth) of a line or more."""
    runs: list[list[Item]] = []
    run: list[Item] = []
    for item in column:
        if run and not _counts_on(run, item, line_height):
            if len(run) >= LINE_NUMBERS:
                runs.append(run)
            run = [run[-1]] if _counts_on(run[-1:], item, line_height) else []
        run.append(item)
    if len(run) >= LINE_NUMBERS:
        runs.append(run)
    return runs


def _counts_on(run: list[Item], item: Item, line_height: float) -> bool:
    step, pitch = int(item.text) - int(run[-1].text), item.y0 - run[-1].y0
    if len(run) == 1:
        return step in (1, 5, 10) and pitch >= line_height
    first_pitch = run[1].y0 - run[0].y0
    return step == int(run[1].text) - int(run[0].text) and abs(pitch - first_pitch) <= 0.2 * first_pitch


def _numbering_lines(run: list[Item], items: list[Item], line_height: float) -> bool:
    """Whether a counting run numbers the lines beside it (see _line_numbers)."""
    mine = {id(i) for i in run}
    sides: dict[str, list[int]] = {"left": [], "right": []}
    wide = empty = 0
    for number in run:
        beside = [i for i in items if id(i) not in mine
                  and min(i.y1, number.y1) - max(i.y0, number.y0) >= 0.5 * min(i.height, number.height)]
        left = [i for i in beside if i.x1 <= number.x0 - 0.5 * line_height]
        right = [i for i in beside if i.x0 >= number.x1 + 0.5 * line_height]
        if len(left) + len(right) < len(beside):
            return False  # a number inside a line of text
        for side, found in (("left", left), ("right", right)):
            if found:
                sides[side].append(len(found))
        wide += any(i.width >= PROSE_WIDTH * line_height for i in beside)
        empty += not beside
    if not sides["right"]:
        return False
    if any(sum(1 for n in counts if n == 1) < len(counts) / 2 for counts in sides.values() if counts):
        return False
    return empty > 0 or wide >= len(run) / 3


def _is_margin_stamp(item: Item, across: list[Item], width: int, height: int) -> bool:
    """A vertical line in a side margin: a preprint server's stamp, a printer's or a
    typesetter's slug (a government gazette's is ~14% of the page high). Long ones (a fifth
    of the page) are stamps wherever they sit in the margin; shorter ones when they lie
    wholly beyond the text (no horizontal line reaches past their inner edge), so that a
    rotated label or table heading at the text's edge is not one."""
    left, right = item.x1 < STAMP_MARGIN * width, item.x0 > (1 - STAMP_MARGIN) * width
    if not (left or right) or item.height < SHORT_STAMP * height:
        return False
    if item.height >= LONG_STAMP * height:
        return True
    return not any(i.x0 < item.x1 if left else i.x1 > item.x0 for i in across)


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text.lower()))


def repeated_furniture(pages: Sequence[tuple[list[TextLine], int, int]]) -> list[dict[int, str]]:
    """Per page, line index -> "header"/"footer" for text that recurs in a band on two or
    more pages at about the same height."""
    seen: dict[tuple[str, str], list[tuple[int, int, float]]] = defaultdict(list)
    for number, (lines, _, height) in enumerate(pages):
        for index, line in enumerate(lines):
            ys = [p[1] for p in line.placement_box]
            top, bottom = min(ys) / max(height, 1), max(ys) / max(height, 1)
            kind = "header" if bottom <= REPEAT_BAND else "footer" if top >= 1 - REPEAT_BAND else None
            if kind is None or len(line.text.strip()) < 1:
                continue
            seen[(kind, _key(line.text))].append((number, index, (top + bottom) / 2))
    out: list[dict[int, str]] = [{} for _ in pages]
    for (kind, _), places in seen.items():
        if len({p for p, _, _ in places}) < 2:
            continue  # bare page numbers count too: all of them are "#"
        for number, index, y in places:
            if sum(1 for p, _, y2 in places if p != number and abs(y2 - y) <= 0.03) >= 1:
                out[number][index] = kind
    return out
