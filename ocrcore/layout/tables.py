"""Tables: the grid rebuilt from ruling lines where there are any, else from aligned rows.

Ruled: ruling segments that touch form a component; one with two or more horizontal and
vertical rulings is a grid whose row and column boundaries are their positions; an
underline (a stroke under one line, its width) is not a ruling. A cell spans where the
ruling between two grid positions is missing, and stays a rectangle where rulings are
partial. Lines go to the cell their centre falls in; a line that crosses a column boundary
is split at its words.

Borderless: consecutive rows of a column region that each hold two or more separate
pieces of text, three rows or more. The columns are the gaps that the fullest rows leave
open; a piece of text wider than one column spans. Columns that are all column-wide prose
are not a table (the XY-cut has already separated real text columns). A row of fewer
pieces close under the previous one continues its cells (a wrapped cell).
"""
from __future__ import annotations

import bisect
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from .geometry import Deskew, Item, Segment, rows_of, word_boxes
from .model import Box
from .order import COLUMN_WIDTH

T = TypeVar("T")

# Ruling tolerances in body line heights: two rulings meet within this distance, and
# positions closer than this are one boundary.
_MEET = 0.35
# A borderless table has at least this many rows, header included.
MIN_ROWS = 3
# Rows of a table are at most this many line heights apart.
_ROW_GAP = 2.5


@dataclass
class Piece:
    """Text that sits in one place of a table row: a line, or some words of one."""

    text: str
    box: Box
    items: list[Item]


@dataclass
class FoundTable:
    box: Box  # deskewed frame
    items: list[Item]
    rows: int
    cols: int
    cells: list[tuple[int, int, int, int, list[Piece]]]  # row, col, rowspan, colspan, contents
    ruled: bool
    header_rows: int = 1
    xs: list[float] = field(default_factory=list)  # column bounds
    ys: list[float] = field(default_factory=list)  # row bounds

    def cell_box(self, row: int, col: int, rowspan: int, colspan: int) -> Box:
        if len(self.xs) == self.cols + 1 and len(self.ys) == self.rows + 1:
            return (int(self.xs[col]), int(self.ys[row]), int(self.xs[col + colspan]), int(self.ys[row + rowspan]))
        return self.box


# --- ruled --------------------------------------------------------------------


def ruled_tables(items: list[Item], turned: list[Segment], uprights: list[Segment], deskew: Deskew,
                 line_height: float) -> list[FoundTable]:
    """The tables the page's rulings draw; `turned` and `uprights`: its horizontal and
    vertical rulings, deskewed (`Deskew.horizontal`, `Deskew.vertical`)."""
    if not turned and not uprights:
        return []
    tol = max(3.0, _MEET * line_height)
    by_foot = sorted(items, key=lambda i: i.y1)
    feet = [i.y1 for i in by_foot]
    reach = max((i.height for i in items), default=0) / 2 + 1
    hs = _merge([s for s in turned if not _underline(s, by_foot, feet, reach, line_height)], tol, line_height)
    vs = _merge(uprights, tol, line_height)
    hs = [s for s in hs if s[1] - s[0] >= 2 * line_height]
    vs = [s for s in vs if s[1] - s[0] >= 0.8 * line_height]
    found = []
    for comp_h, comp_v in _components(hs, vs, tol):
        if len(comp_h) < 2 or len(comp_v) < 2:
            continue
        table = _grid(items, comp_h, comp_v, tol, deskew, line_height)
        if table is not None:
            found.append(table)
    return found


def _underline(segment: Segment, by_foot: list[Item], feet: list[int], reach: float, line_height: float) -> bool:
    """A horizontal stroke at one line's foot, from about its first letter to its last (a
    link or emphasis underlined): it marks that text, it does not part table rows.
    `by_foot`: the items by their bottom edge, `feet` those edges, `reach` the most a
    line's middle lies above its foot."""
    start, end, y = segment
    slack = 0.5 * line_height
    near = by_foot[bisect.bisect_left(feet, y - slack):bisect.bisect_left(feet, y + reach)]
    return any(abs(start - i.x0) <= slack and abs(end - i.x1) <= slack and i.cy < y for i in near)


def _merge(segments: list[Segment], tol: float, line_height: float) -> list[Segment]:
    """Collinear pieces (a skewed or broken ruling) joined: (start, end, position)."""
    out: list[list[float]] = []
    for start, end, pos in sorted(segments, key=lambda s: (s[2], s[0])):
        for seg in out:
            if abs(seg[2] - pos) <= tol and start <= seg[1] + 0.5 * line_height and end >= seg[0] - 0.5 * line_height:
                seg[0], seg[1] = min(seg[0], start), max(seg[1], end)
                break
        else:
            out.append([start, end, pos])
    return [(s[0], s[1], s[2]) for s in out]


def _components(hs, vs, tol):
    """Groups of horizontal and vertical rulings that touch (union-find)."""
    parent = list(range(len(hs) + len(vs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (hx0, hx1, hy) in enumerate(hs):
        for j, (vy0, vy1, vx) in enumerate(vs):
            if hx0 - tol <= vx <= hx1 + tol and vy0 - tol <= hy <= vy1 + tol:
                parent[find(i)] = find(len(hs) + j)
    groups: dict[int, tuple[list, list]] = {}
    for i, h in enumerate(hs):
        groups.setdefault(find(i), ([], []))[0].append(h)
    for j, v in enumerate(vs):
        groups.setdefault(find(len(hs) + j), ([], []))[1].append(v)
    return list(groups.values())


def _positions(values: list[float], tol: float) -> list[float]:
    out: list[list[float]] = []
    for value in sorted(values):
        if out and value - out[-1][-1] <= tol:
            out[-1].append(value)
        else:
            out.append([value])
    return [statistics.fmean(group) for group in out]


def _grid(items: list[Item], hs, vs, tol: float, deskew: Deskew, line_height: float) -> FoundTable | None:
    ys = _positions([h[2] for h in hs], tol)
    xs = _positions([v[2] for v in vs], tol)
    if len(ys) < 2 or len(xs) < 2:
        return None
    # Open sides (statistical tables rule only across): horizontal rulings reaching past the
    # outermost vertical ones bound a column there (the row labels, the last column group).
    reach_left, reach_right = min(h[0] for h in hs), max(h[1] for h in hs)
    if xs[0] - reach_left > line_height:
        xs.insert(0, reach_left)
    if reach_right - xs[-1] > line_height:
        xs.append(reach_right)
    inside = [i for i in items if xs[0] <= (i.x0 + i.x1) / 2 <= xs[-1] and ys[0] <= i.cy <= ys[-1]]
    ruled_xs = list(xs)
    ruled_ys = list(ys)
    text_ys, text_xs, record_bands = _text_rows(inside, xs, ys, deskew, line_height)
    ys = sorted(ys + text_ys)
    xs = sorted(xs + text_xs)
    rows, cols = len(ys) - 1, len(xs) - 1
    box = (int(xs[0]), int(ys[0]), int(xs[-1]), int(ys[-1]))
    # Records are split at the text's column bounds, everything else only at the rulings'.
    in_records = [i for i in inside if _slot(ruled_ys, i.cy) in record_bands]
    others = [i for i in inside if _slot(ruled_ys, i.cy) not in record_bands]
    # A record's line is parted only where its words leave a column gap: a long description
    # running on into the next column is one piece ("... SAINT LOUIS TO" stays whole).
    pieces = _pieces(in_records, xs, deskew, PIECE_GAP * line_height) + _pieces(others, ruled_xs, deskew)

    text_row_ends, text_col_bounds = set(text_ys), set(text_xs)

    def h_edge(r: int, c: int) -> bool:  # a ruling (or a text row's end) between rows r-1 and r under column c
        if ys[r] in text_row_ends:
            return True
        mid = (xs[c] + xs[c + 1]) / 2
        return any(abs(h[2] - ys[r]) <= tol and h[0] - tol <= mid <= h[1] + tol for h in hs)

    by_row = _in_bands((((p.box[1] + p.box[3]) / 2, p) for p in pieces), ys)
    row_text: dict[int, tuple[set[int], set[int]]] = {}

    def text_of_row(r: int) -> tuple[set[int], set[int]]:
        """(the column bounds a piece of row r runs across, the columns a piece of it fits in)."""
        if r not in row_text:
            crossed: set[int] = set()
            fits: set[int] = set()
            for p in by_row.get(r, []):
                x0, x1 = p.box[0], p.box[2]
                crossed.update(range(bisect.bisect_right(xs, x0 + 2), bisect.bisect_left(xs, x1 - 2)))
                j = _slot(xs, (x0 + x1) / 2)
                fits.update(k for k in (j - 1, j, j + 1) if 0 <= k < cols and xs[k] - 2 <= x0 and x1 <= xs[k + 1] + 2)
            row_text[r] = (crossed, fits)
        return row_text[r]

    def v_edge(r: int, c: int) -> bool:  # a ruling (or an open text gap) between columns c-1 and c beside row r
        mid = (ys[r] + ys[r + 1]) / 2
        if xs[c] in text_col_bounds or _slot(ruled_ys, mid) in record_bands:
            crossed, fits = text_of_row(r)
            # A line running on past the boundary overflows its cell where both cells
            # beside the boundary hold text of their own (a long description beside its amount).
            open_gap = c not in crossed or (c - 1 in fits and c in fits)
            if xs[c] in text_col_bounds or open_gap:
                return open_gap  # records keep the header's columns where their rulings stop short
        if any(abs(v[2] - xs[c]) <= tol and v[0] - tol <= mid <= v[1] + tol for v in vs):
            return True
        # Unruled here, ruled in other rows: still an edge where this row's text stands in the
        # cells on both sides and none crosses (a header row drawn without inner borders); a
        # cell spanning the columns holds one text.
        crossed, fits = text_of_row(r)
        return c not in crossed and c - 1 in fits and c in fits

    spans = _rectangles(rows, cols, v_edge, h_edge)
    contents: dict[tuple[int, int, int, int], list[Piece]] = {}
    for piece in pieces:
        cx, cy = (piece.box[0] + piece.box[2]) / 2, (piece.box[1] + piece.box[3]) / 2
        contents.setdefault(spans[(_slot(ys, cy), _slot(xs, cx))], []).append(piece)
    cells = [(r0, c0, rowspan, colspan, contents.get((r0, c0, rowspan, colspan), []))
             for r0, c0, rowspan, colspan in sorted(set(spans.values()))]
    filled = sum(1 for cell in cells if cell[4])
    if filled < 2 or len(cells) < 2:
        return None  # a box drawn around text is not a table
    return FoundTable(box, inside, rows, cols, cells, ruled=True, xs=xs, ys=ys)


def _rectangles(rows: int, cols: int, v_edge, h_edge) -> dict[tuple[int, int], tuple[int, int, int, int]]:
    """Each grid position's cell (row, col, rowspan, colspan). A row's positions run together
    where no ruling parts them; a run goes on down into the run below where that one spans
    the same columns and no ruling parts them. Cells stay rectangles where rulings are
    partial (a title band open into the row-label column under it): the two stay apart."""
    runs: list[list[tuple[int, int]]] = []  # per row: (first col, last col)
    for r in range(rows):
        here, start = [], 0
        for c in range(1, cols + 1):
            if c == cols or v_edge(r, c):
                here.append((start, c - 1))
                start = c
        runs.append(here)
    run_sets = [set(here) for here in runs]
    cell: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for r in range(rows):
        for a, b in runs[r]:
            if (r, a) in cell:
                continue  # continued from above
            depth = 1
            while (r + depth < rows and (a, b) in run_sets[r + depth]
                   and not any(h_edge(r + depth, c) for c in range(a, b + 1))):
                depth += 1
            for k in range(r, r + depth):
                for c in range(a, b + 1):
                    cell[(k, c)] = (r, a, depth, b - a + 1)
    return cell


def _text_rows(items: list[Item], xs: list[float], ys: list[float], deskew: Deskew,
               line_height: float) -> tuple[list[float], list[float], set[int]]:
    """Row and column bounds that the text draws inside ruled bands holding many records
    (a table ruled only under its header and at its foot, or every fifth row): a band with
    MIN_ROWS or more text rows of two or more pieces is cut between its text rows (wrapped
    lines folded into their record), and within each ruled column at the gaps that all of
    those rows of two or more pieces there leave open: PIECE_GAP wide between their words,
    RIVER_GAP between their boxes. Returns (row bounds, column bounds, the bands so cut)."""
    row_bounds: list[float] = []
    bands: set[int] = set()
    spans: dict[int, list[tuple[float, float]]] = {}  # per ruled column: its words' x extents
    boxes: dict[int, list[tuple[float, float]]] = {}  # and its boxes'
    in_band = _in_bands(((i.cy, i) for i in items), ys)
    for band in range(len(ys) - 1):
        here = in_band.get(band, [])
        rows = rows_of(here)
        split = [_pieces(row, xs, deskew) for row in rows]
        placed = [[(_slot(xs, (p.box[0] + p.box[2]) / 2), 1, p) for p in _join_close(pieces, line_height)]
                  for pieces in split]
        if sum(1 for row in placed if len(row) >= 2) < MIN_ROWS:
            continue
        bands.add(band)
        records = _join_wrapped(placed, rows, line_height)
        for upper, lower in zip(records, records[1:]):
            bottom = max(p.box[3] for _, _, p in upper)
            top = min(p.box[1] for _, _, p in lower)
            row_bounds.append((bottom + top) / 2)
        # A ruled column's gaps are drawn by the rows of two or more pieces in it, where
        # MIN_ROWS rows are: a lone piece (a section title, a wrapped line) may span its
        # columns, and a few rows (an address under the records) are no column pattern.
        crowded = [{col for col, n in Counter(col for col, _, _ in pieces).items() if n >= 2} for pieces in placed]
        patterned = {col for col, n in Counter(col for busy in crowded for col in busy).items() if n >= MIN_ROWS}
        for row, busy, pieces in zip(rows, crowded, split):
            for _, word in (w for item in row for w in word_boxes(item, deskew)):
                col = _slot(xs, (word[0] + word[2]) / 2)
                if col in busy and col in patterned:
                    spans.setdefault(col, []).append((word[0], word[2]))
            for piece in pieces:
                col = _slot(xs, (piece.box[0] + piece.box[2]) / 2)
                if col in busy and col in patterned:
                    boxes.setdefault(col, []).append((piece.box[0], piece.box[2]))
    col_bounds: list[float] = []
    for col, words in spans.items():
        word_gaps = _open_gaps(words, PIECE_GAP * line_height)
        # Between the boxes themselves (the detector's lines, the text layer's runs) a gap
        # open in every row is a column at the borderless tables' narrower gap: the boxes
        # already part there, and the rows agree (ranges "30.02 - 30.82" set 15 px apart
        # with body lines 22 px tall).
        box_gaps = _open_gaps(boxes.get(col, []), RIVER_GAP * line_height)
        gaps = word_gaps + [g for g in box_gaps if not any(g[0] <= (w[0] + w[1]) / 2 <= g[1] for w in word_gaps)]
        col_bounds += [m for a, b in gaps if xs[col] < (m := (a + b) / 2) < xs[col + 1]]
    return row_bounds, col_bounds, bands


def _open_gaps(spans: list[tuple[float, float]], least: float) -> list[tuple[float, float]]:
    """The gaps at least `least` wide that no span covers, as (start, end)."""
    if not spans:
        return []
    spans = sorted(spans)
    gaps = []
    reach = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - reach >= least:
            gaps.append((reach, x0))
        reach = max(reach, x1)
    return gaps


# Dotted leaders from a row label to its figures ("Robbery . . . . 102.1"): fill, not text.
_LEADER = re.compile(r"(?:\s*\.){3,}\s*$|\s+(?:\.\s*)+$")


# A figure: an amount, count, share, date or range ("1,396.4", "(D)", "12%", "03/04/2019",
# "1.35 - 1.42"): digits and their separators, a currency or unit sign at most.
_FIGURE = re.compile(r"^[(\[$€£¥+\-–]*\d[\d\s.,:/%()\]\-–]*[%$€£¥]?$|^\([A-Z]\)$")


def is_figure(text: str) -> bool:
    return bool(_FIGURE.match(text.strip()))


def cell_text(pieces: list[Piece]) -> str:
    """A cell's text: its pieces joined, a trailing dotted leader dropped."""
    return _LEADER.sub("", " ".join(piece.text for piece in pieces).strip())


def _slot(bounds: list[float], value: float) -> int:
    """The band of sorted `bounds` that holds `value`, the first or last one beyond them."""
    return min(max(bisect.bisect_right(bounds, value) - 1, 0), len(bounds) - 2)


def _in_bands(entries: Iterable[tuple[float, T]], bounds: list[float]) -> dict[int, list[T]]:
    """Each thing, given with its position, under the band of sorted `bounds` it lies in;
    those beyond the bounds left out."""
    out: dict[int, list[T]] = {}
    for position, thing in entries:
        if bounds[0] <= position < bounds[-1]:
            out.setdefault(_slot(bounds, position), []).append(thing)
    return out


def _pieces(items: list[Item], xs: list[float], deskew: Deskew, min_gap: float = 0.0) -> list[Piece]:
    """The items, each split at the column boundaries `xs` it crosses (by its words), where
    the words on either side are at least `min_gap` apart."""
    out = []
    inner = xs[1:-1]
    for item in items:
        if bisect.bisect_right(inner, item.x0 + 4) >= bisect.bisect_left(inner, item.x1 - 4):  # crosses none
            out.append(Piece(item.text, item.box, [item]))
            continue
        groups: dict[int, list[tuple[str, Box]]] = {}
        for text, box in word_boxes(item, deskew):
            groups.setdefault(_slot(xs, (box[0] + box[2]) / 2), []).append((text, box))
        parts: list[list[tuple[str, Box]]] = []
        for _, group in sorted(groups.items()):
            if parts and group[0][1][0] - parts[-1][-1][1][2] < min_gap:
                parts[-1].extend(group)
            else:
                parts.append(list(group))
        for group in parts:
            x0 = min(b[0] for _, b in group)
            x1 = max(b[2] for _, b in group)
            out.append(Piece(" ".join(t for t, _ in group), (x0, item.y0, x1, item.y1), [item]))
    return out


# --- borderless ---------------------------------------------------------------


_LONE_MARKER = re.compile(r"^(?:[•·●○◦▪▫■□‣⁃∙◆◇►▸➢✓✔*+\-–—]|\(?(?:\d{1,3}|[a-zA-Z])[.)])$")
# Boxes of one row closer than this many line heights are one piece of text (a line the
# detector or a text layer cut at a wide word space); table columns are further apart.
PIECE_GAP = 0.8
# Columns of a table part where the rows' pieces together leave this many line heights open:
# half a piece gap, as nothing closer than PIECE_GAP is two pieces of one row.
RIVER_GAP = 0.5 * PIECE_GAP


def segments(row: list[Item], line_height: float) -> list[Piece]:
    """A row's pieces of text: its items, joined where closer than PIECE_GAP."""
    return _join_close([Piece(item.text, item.box, [item]) for item in row], line_height, markers=True)


def _join_close(pieces: list[Piece], line_height: float, markers: bool = False) -> list[Piece]:
    """Pieces of one row closer than PIECE_GAP joined (a line cut at a word space); with
    `markers`, a lone bullet or number also joins the text after it."""
    out: list[Piece] = []
    for piece in sorted(pieces, key=lambda p: p.box[0]):
        gap = piece.box[0] - out[-1].box[2] if out else 0.0
        # A bullet or number standing apart before its text ("•   text") is that text's marker.
        marker = markers and bool(out) and _LONE_MARKER.match(out[-1].text) is not None and gap < 3 * line_height
        if out and (gap < PIECE_GAP * line_height or marker):
            last = out[-1]
            out[-1] = Piece(f"{last.text} {piece.text}", (last.box[0], min(last.box[1], piece.box[1]),
                            max(last.box[2], piece.box[2]), max(last.box[3], piece.box[3])), last.items + piece.items)
        else:
            out.append(piece)
    return out


def borderless_table(rows: list[list[Item]], line_height: float) -> FoundTable | None:
    """The table these consecutive rows make, or None."""
    if len(rows) < MIN_ROWS:
        return None
    pieces = [segments(row, line_height) for row in rows]
    counts = [len(p) for p in pieces]
    fullest = max(counts)
    if fullest < 2:
        return None
    core = [p for p in pieces if len(p) >= max(2, fullest - 1)]
    if len(core) < 2:
        return None
    spans = sorted((piece.box[0], piece.box[2]) for row in core for piece in row)
    bounds: list[float] = [float(spans[0][0])]
    reach = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - reach >= RIVER_GAP * line_height:
            bounds.append((reach + x0) / 2)
        reach = max(reach, x1)
    left = min(piece.box[0] for row in pieces for piece in row)
    right = max(piece.box[2] for row in pieces for piece in row)
    xs = [float(left)] + bounds[1:] + [float(right)]
    cols = len(xs) - 1
    if cols < 2:
        return None
    placed: list[list[tuple[int, int, Piece]]] = []  # per row: (col, colspan, piece)
    for row in pieces:
        here = []
        for piece in row:
            first = _slot(xs, piece.box[0] + 2)
            last = _slot(xs, piece.box[2] - 2)
            here.append((first, last - first + 1, piece))
        placed.append(here)
    # Cells per column: if every column holds column-wide prose, these are text columns.
    widths: dict[int, list[int]] = {}
    for here in placed:
        for col, span, piece in here:
            if span == 1:
                widths.setdefault(col, []).append(piece.box[2] - piece.box[0])
    if all(sorted(w)[int(0.85 * (len(w) - 1))] >= COLUMN_WIDTH * line_height for w in widths.values()):
        return None
    multi = sum(1 for here in placed if len({c for c, _, _ in here}) >= 2)
    if multi < max(2, 0.5 * len(placed)):
        return None
    merged = _join_wrapped(placed, rows, line_height)
    cells = []
    for r, here in enumerate(merged):
        by_col: dict[int, tuple[int, list[Piece]]] = {}
        for col, span, piece in here:
            if col in by_col:
                by_col[col][1].append(piece)
                by_col[col] = (max(by_col[col][0], span), by_col[col][1])
            else:
                by_col[col] = (span, [piece])
        covered: set[int] = set()
        for col in sorted(by_col):
            span, contents = by_col[col]
            span = max(1, min(span, cols - col))
            if col in covered:
                continue
            covered.update(range(col, col + span))
            cells.append((r, col, 1, span, contents))
        for col in range(cols):
            if col not in covered:
                cells.append((r, col, 1, 1, []))
    cells.sort(key=lambda c: (c[0], c[1]))
    items = [item for row in rows for item in row]
    box = (min(i.x0 for i in items), min(i.y0 for i in items), max(i.x1 for i in items), max(i.y1 for i in items))
    ys = [float(box[1])] + [(max(p.box[3] for _, _, p in merged[r - 1]) + min(p.box[1] for _, _, p in merged[r])) / 2
                            for r in range(1, len(merged))] + [float(box[3])]
    return FoundTable(box, items, len(merged), cols, cells, ruled=False, xs=xs, ys=ys)


def _join_wrapped(placed, rows: list[list[Item]], line_height: float):
    """Rows that continue the record above folded into it: fewer pieces, each under a filled
    cell, and either closer than the table's usual row gap (a wrapped cell) or a further
    line of its text cells alone, with no figure, where the record has cells on both sides
    of it (a ledger's second description line: "AIRFARE FOR ..." under "D0001 | STAFF
    TRANSPORTATION | 920.68", at the same line pitch as the records). A row that fills the
    record's first column ("Bob | QA | " under "Alice | Dev | remote") or its columns
    through the last (the lines of a group whose label is written once: "West |
    California", " | Oregon") stays a row."""
    tops = [min(i.y0 for i in row) for row in rows]
    bottoms = [max(i.y1 for i in row) for row in rows]
    gaps = [tops[k] - bottoms[k - 1] for k in range(1, len(rows))]
    usual = statistics.median(gaps) if gaps else 0
    out = [list(placed[0])]
    for k in range(1, len(placed)):
        prev_cols = {c for c, _, _ in out[-1]}
        cols = {c for c, _, _ in placed[k]}
        # A cell ending in a dotted leader has ended (the dots run on to its figures): a line
        # under it starts the next record ("Gambling . . . 8.2" over "Offenses against the").
        led = {c for c, _, p in out[-1] if _LEADER.search(p.text)}
        under = len(cols) < len(prev_cols) and cols <= prev_cols and not cols & led
        wrapped = gaps[k - 1] < 0.5 * usual and gaps[k - 1] < 0.6 * line_height
        text_cols = {c for c, _, p in out[-1] if not is_figure(p.text)}
        further_line = (cols <= text_cols and min(prev_cols) < min(cols) and max(prev_cols) > max(cols)
                        and not any(is_figure(p.text) for _, _, p in placed[k])
                        and gaps[k - 1] <= max(usual, 0) + 0.5 * line_height)
        if under and (wrapped or further_line):
            out[-1].extend(placed[k])
        else:
            out.append(list(placed[k]))
    return out


def table_rows(rows: list[list[Item]], line_height: float) -> list[tuple[int, int]]:
    """(start, end) row index ranges, end exclusive, of the runs of rows that may be tables:
    consecutive rows of two or more pieces, each under the last and close to it."""
    runs = []
    start = None
    for k, row in enumerate(rows):
        multi = len(segments(row, line_height)) >= 2
        near = (k > 0 and start is not None
                and min(i.y0 for i in row) - max(i.y1 for i in rows[k - 1]) <= _ROW_GAP * line_height
                and min(i.y0 for i in row) >= min(i.y0 for i in rows[k - 1]))
        if multi and (start is None or near):
            start = k if start is None else start
            continue
        if start is not None:
            runs.append((start, k))
        start = k if multi else None
    if start is not None:
        runs.append((start, len(rows)))
    return [(a, b) for a, b in runs if b - a >= MIN_ROWS]
