"""Layout analysis: a page's lines -> blocks in reading order (ocrcore.layout).

Pure functions over line boxes (and the ruling lines found in the page's pixels, where
the page was OCRed): no OCR model, no Flask, Celery or Redis. The steps, each a module:

- geometry: boxes deskewed by the page's median line angle, the body text size;
- furniture: running headers, footers, page numbers and margin stamps (per page, and
  text recurring across a document's pages);
- tables: grids from ruling lines, and borderless tables from aligned rows;
- order: recursive XY-cut for columns (spanning titles, 1 -> 2 -> 1 sections);
- blocks: paragraphs rebuilt across line breaks, typed heading, list_item, caption.

`analyze_document(pages)` is the entry point; every output format renders its result.
Pages of mostly vertical lines (vertical CJK, pages turned 90 degrees) keep the order
the lines came in, grouped into paragraphs, as before the layout existed.
"""
from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..types import TextLine
from .blocks import (
    Draft,
    Row,
    build_blocks,
    ends_sentence,
    is_cjk,
    paragraph_gap,
    starts_lowercase,
)
from .furniture import page_furniture, repeated_furniture
from .geometry import Deskew, Item, body_size, items_of, original_box, rows_of
from .model import BLOCK_TYPES, FURNITURE, Block, BlockType, Cell, PageLayout, Rulings, Table
from .order import xy_cut
from .rulings import BULLET_REACH, BULLET_SIZE
from .tables import FoundTable, borderless_table, cell_text, ruled_tables, table_rows

__all__ = ["BLOCK_TYPES", "FURNITURE", "Block", "BlockType", "Cell", "PageLayout", "Rulings", "Table",
           "analyze_document", "analyze_page"]

# Heading sizes closer than this ratio are one level.
_LEVEL_STEP = 0.88
_MAX_LEVEL = 6
# A document's first heading, unnumbered and this much larger than its numbered sections
# (their median: one style measures 1.17-1.33 lh from boxes), is its title over them (a
# paper's 14 pt title over 12 pt sections measures 1.09x).
_TITLE_MARGIN = 1.05


class PageLike(Protocol):
    @property
    def lines(self) -> list[TextLine]: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def rulings(self) -> Rulings | None: ...


@dataclass
class _Page:
    """One page's analysis before the document-wide steps (heading levels, continuations)."""

    header: list[Item]
    body: list[Draft | FoundTable]
    footer: list[Item]
    lines: list[TextLine]
    line_height: float


def analyze_page(lines: list[TextLine], width: int, height: int, rulings: Rulings | None = None) -> PageLayout:
    return _finish([_analyze(lines, width, height, rulings, {})])[0]


def analyze_document(pages: Sequence[PageLike]) -> list[PageLayout]:
    """Each page's layout; furniture recurring across pages and heading levels are judged
    over the whole document, and a paragraph running on into the next page is marked."""
    hints = repeated_furniture([(p.lines, p.width, p.height) for p in pages]) if len(pages) > 1 else [{}]
    return _finish([_analyze(p.lines, p.width, p.height, p.rulings, hint) for p, hint in zip(pages, hints)])


def _analyze(lines: list[TextLine], width: int, height: int, rulings: Rulings | None,
             hint: dict[int, str]) -> _Page:
    items, deskew = items_of(lines, width, height)
    items = [item for item in items if item.text]
    if not items:
        return _Page([], [], [], lines, 1.0)
    line_height, char_width = body_size(items)
    if sum(item.vertical for item in items) > 0.5 * len(items):
        return _Page([], _in_given_order(items, line_height), [], lines, line_height)
    if rulings and rulings.marks:
        _add_bullets(items, rulings.marks, deskew)
    if rulings and rulings.leaders:
        _add_leaders(items, rulings.leaders, deskew)
    rules = [deskew.horizontal(s) for s in rulings.horizontal] if rulings else []
    uprights = [deskew.vertical(s) for s in rulings.vertical] if rulings else []
    kinds = page_furniture(items, width, height, line_height, rules, uprights)
    kinds.update(hint)
    header = sorted((i for i in items if kinds.get(i.index) == "header"), key=lambda i: (i.y0, i.x0))
    footer = sorted((i for i in items if kinds.get(i.index) == "footer"), key=lambda i: (i.y0, i.x0))
    body = [i for i in items if i.index not in kinds]
    ruled = ruled_tables(body, rules, uprights, deskew, line_height)
    in_tables = {id(i) for table in ruled for i in table.items}
    units: list[Item | FoundTable] = [i for i in body if id(i) not in in_tables]
    units += ruled
    leaves = xy_cut(units, lambda u: u.box, line_height, lambda u: isinstance(u, Item))
    sequence: list[list[Item] | FoundTable] = []
    for leaf in leaves:
        entries: list[list[Item] | FoundTable] = [u for u in leaf if isinstance(u, FoundTable)]
        entries += rows_of([u for u in leaf if isinstance(u, Item)])
        sequence.extend(sorted(entries, key=_top))
    flow = _with_borderless(sequence, line_height)
    all_rows = [Row(e) for e in sequence if isinstance(e, list)]
    threshold = paragraph_gap(all_rows, line_height)
    drafts: list[Draft | FoundTable] = []
    run: list[Row] = []
    for entry in flow:
        if isinstance(entry, Row):
            run.append(entry)
            continue
        drafts.extend(build_blocks(run, line_height, char_width, threshold))
        run = []
        drafts.append(entry)
    drafts.extend(build_blocks(run, line_height, char_width, threshold))
    return _Page(header, drafts, footer, lines, line_height)


def _add_bullets(items: list[Item], marks: tuple[tuple[int, int, int, int], ...], deskew: Deskew) -> None:
    """A solid mark just left of a line's start, at its middle height, outside every line,
    is the line's bullet (the recogniser drops most bullet glyphs): the line reads "• ..."."""
    for x0, y0, x1, y1 in marks:
        box = deskew.box([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        size = box[3] - box[1]
        cy = (box[1] + box[3]) / 2
        if any(i.x0 < box[2] and box[0] <= i.x1 + 0.25 * i.height and i.y0 <= cy <= i.y1 for i in items):
            continue  # over a line or just past its end: a letter or full stop of its text
        low, high = BULLET_SIZE
        after = [i for i in items if i.y0 <= cy <= i.y1 and 0 <= i.x0 - box[2] <= BULLET_REACH * i.height
                 and low * i.height <= size <= high * i.height and abs(cy - i.cy) <= 0.25 * i.height]
        if after:
            line = min(after, key=lambda i: i.x0)
            if not line.text.startswith(("•", "·", "-", "*")):
                line.text = "• " + line.text


def _add_leaders(items: list[Item], leaders: tuple[tuple[int, int, int, int], ...], deskew: Deskew) -> None:
    """A dotted leader running on from a line's end is fill, not a full stop: the line reads
    "Robbery . . ." (not "Robbery."), as its text layer would, and a table cell drops it."""
    for x0, y0, x1, y1 in leaders:
        box = deskew.box([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        cy = (box[1] + box[3]) / 2
        before = [i for i in items if i.y0 <= cy <= i.y1 and -0.5 * i.height <= box[0] - i.x1 <= 2 * i.height]
        if before:
            line = max(before, key=lambda i: i.x1)
            if line.text.endswith("."):
                line.text = line.text.rstrip(". ") + " . . ."


def _top(entry: list[Item] | FoundTable) -> float:
    return entry.box[1] if isinstance(entry, FoundTable) else min(i.cy for i in entry)


def _with_borderless(sequence: list[list[Item] | FoundTable], line_height: float) -> list[Row | FoundTable]:
    """The sequence with runs of aligned rows made tables where they are tables."""
    out: list[Row | FoundTable] = []
    k = 0
    while k < len(sequence):
        entry = sequence[k]
        if isinstance(entry, FoundTable):
            out.append(entry)
            k += 1
            continue
        end = k
        while end < len(sequence) and isinstance(sequence[end], list):
            end += 1
        rows: list[list[Item]] = [r for r in sequence[k:end] if isinstance(r, list)]
        cursor = 0
        for start, stop in table_rows(rows, line_height):
            table = borderless_table(rows[start:stop], line_height)
            if table is None:
                continue
            out.extend(Row(r) for r in rows[cursor:start])
            out.append(table)
            cursor = stop
        out.extend(Row(r) for r in rows[cursor:])
        k = end
    return out


def _in_given_order(items: list[Item], line_height: float) -> list[Draft | FoundTable]:
    """Vertical pages: lines in the order given, a new paragraph at a gap or a turn back."""
    drafts: list[Draft | FoundTable] = []
    for item in items:
        current = drafts[-1] if drafts else None
        if isinstance(current, Draft):
            last = current.rows[-1].items[-1]
            reach = 0.75 * max(item.width, last.width)
            beside = abs(item.x1 - last.x0) <= reach or abs(item.x0 - last.x1) <= reach
            if beside and abs(item.y0 - last.y0) <= 2 * line_height:
                current.rows.append(Row([item]))
                continue
        drafts.append(Draft([Row([item])]))
    return drafts


# --- document-wide steps, then the typed result -------------------------------


def _finish(pages: list[_Page]) -> list[PageLayout]:
    _assign_levels(pages)
    _mark_continued(pages)
    return [_layout(page) for page in pages]


def _assign_levels(pages: list[_Page]) -> None:
    """Heading levels over the whole document. Numbered headings ("2", "2.1") take their
    level from their numbering's depth, under the larger unnumbered headings above them (a
    title, or the document's first heading a little larger than them); the others rank by
    size (sizes within 12% are one level). Numbering is the
    surer sign: the size of a short bold line is measured from its box, which its letters'
    shapes move by 10-20%."""
    headings = [d for p in pages for d in p.body if isinstance(d, Draft) and d.type == "heading"]
    numbered = [d for d in headings if d.depth > 0]
    plain = [d for d in headings if d.depth == 0]
    tops: list[float] = []
    for size in sorted({round(d.size, 3) for d in plain}, reverse=True):
        if not tops or size < tops[-1] * _LEVEL_STEP:
            tops.append(size)
    largest_numbered = max((d.size for d in numbered), default=0.0)
    above = sum(1 for top in tops if top > largest_numbered / _LEVEL_STEP) if numbered else len(tops)
    top_depth = min((d.depth for d in numbered), default=0)
    sections = statistics.median(d.size for d in numbered if d.depth == top_depth) if numbered else 0.0
    first = headings[0] if headings else None
    title = first if (numbered and not above and first is not None and first.depth == 0
                      and first.size > tops[0] * _LEVEL_STEP and first.size >= _TITLE_MARGIN * sections) else None
    if title is not None:
        above = 1
    depths = sorted({d.depth for d in numbered})
    levels = {}
    for draft in plain:
        rank = max(k for k, top in enumerate(tops) if draft.size <= top * 1.0001 or k == 0)
        if draft is title or (title is None and rank < above):
            levels[id(draft)] = rank + 1
        elif numbered and sections * _LEVEL_STEP <= draft.size <= sections / _LEVEL_STEP:
            levels[id(draft)] = above + 1  # an unnumbered section ("References", "Abstract")
        else:
            levels[id(draft)] = above + len(depths) + 1 + max(rank - above, 0)
    for draft in numbered:
        levels[id(draft)] = above + 1 + depths.index(draft.depth)
    for draft in headings:
        draft.depth = min(levels[id(draft)], _MAX_LEVEL)  # from here on: the heading level


def _mark_continued(pages: list[_Page]) -> None:
    """A paragraph or list item that ends mid-sentence on a full line at a column's or page's
    end, where the next paragraph starts in another column or on the next page, runs on
    into it. A list item's line is full when it is as wide as the widest line of the
    paragraph it runs on into (a one-line item says nothing of its column's width)."""
    body = [(n, d) for n, p in enumerate(pages) for d in p.body]
    for (n, a), (m, b) in zip(body, body[1:]):
        if not (isinstance(a, Draft) and isinstance(b, Draft)) or a.type not in ("paragraph", "list_item") \
                or b.type != "paragraph":
            continue
        line_height = pages[n].line_height
        moved = m != n or b.rows[0].y0 < a.rows[-1].y0 - line_height
        if a.type == "paragraph":
            full = a.rows[-1].x1 >= max(r.x1 for r in a.rows) - 2 * line_height
        else:
            full = a.rows[-1].x1 - a.rows[0].x0 >= max(r.x1 - r.x0 for r in b.rows) - 2 * line_height
        text_a, text_b = a.text, b.text
        follows = starts_lowercase(text_b) or (is_cjk(text_a[-1]) and is_cjk(text_b[0]))
        if moved and full and follows and not ends_sentence(text_a):
            a.continued = True


def _layout(page: _Page) -> PageLayout:
    ordered: list[Item] = list(page.header)
    seen = {id(i) for i in ordered}
    pieces: list[tuple[str, Draft | FoundTable | None, list[Item]]] = []
    for item in page.header:
        pieces.append(("header", None, [item]))
    for entry in page.body:
        members = list(entry.items) if isinstance(entry, FoundTable) else [i for r in entry.rows for i in r.items]
        if isinstance(entry, FoundTable):
            members = [i for cell in entry.cells for piece in cell[4] for i in piece.items] + members
        fresh = []
        for item in members:
            if id(item) not in seen:
                seen.add(id(item))
                fresh.append(item)
        ordered.extend(fresh)
        pieces.append(("table" if isinstance(entry, FoundTable) else "draft", entry, members))
    for item in page.footer:
        ordered.append(item)
        seen.add(id(item))
        pieces.append(("footer", None, [item]))
    position = {id(item): k for k, item in enumerate(ordered)}
    lines = [item.line for item in ordered]
    placed = {item.index for item in ordered}
    lines += [line for k, line in enumerate(page.lines) if k not in placed and line.text.strip()]
    lines += [line for k, line in enumerate(page.lines) if k not in placed and not line.text.strip()]
    blocks = []
    for kind, part, members in pieces:
        indices = tuple(sorted({position[id(i)] for i in members}))
        box = original_box(members)
        if kind in ("header", "footer"):
            blocks.append(Block(kind, box, indices, members[0].text))  # type: ignore[arg-type]
        elif isinstance(part, FoundTable):
            blocks.append(_table_block(part, box, indices, position))
        else:
            assert isinstance(part, Draft)
            level = part.depth if part.type == "heading" else 0
            blocks.append(Block(part.type, box, indices, part.text, level=level,  # type: ignore[arg-type]
                                ordered=part.ordered, marker=part.marker, continued=part.continued))
    return PageLayout(lines, blocks)


def _table_block(found: FoundTable, box, indices: tuple[int, ...], position: dict[int, int]) -> Block:
    cells = []
    for row, col, rowspan, colspan, contents in found.cells:
        text = cell_text(contents)
        if contents:
            xs = [piece.box for piece in contents]
            cell_box = (min(b[0] for b in xs), min(b[1] for b in xs), max(b[2] for b in xs), max(b[3] for b in xs))
        else:
            cell_box = found.cell_box(row, col, rowspan, colspan)
        lines = tuple(sorted({position[id(i)] for piece in contents for i in piece.items}))
        cells.append(Cell(row, col, text, cell_box, lines, rowspan, colspan))
    table = Table(found.rows, found.cols, tuple(cells), found.header_rows, found.ruled)
    text = "\n".join(" | ".join(row) for row in table.grid())
    return Block("table", box, indices, text, table=table)
