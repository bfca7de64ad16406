"""Reading order: a recursive XY-cut over line and table boxes.

A region is cut down a vertical gutter when both sides are columns of text; otherwise it
is cut across at its horizontal gaps into strips, and consecutive strips that share a
gutter are joined again before recursing, so that a 2-column section whose paragraph gaps
happen to line up is not cut into rows (the classic XY-cut failure), and a full-width
title or block between column sections stays a strip of its own (1 -> 2 -> 1 columns).
A head set well apart from what follows and not the top of its columns (a title beside a
masthead) is cut off first, so it is not read as the top of the column it sits over.
A gutter only counts between columns of text, or a column of text and a figure's small-type
labels: on a receipt or in a key-value list the gap between labels and amounts is not a
column break, and those rows read across.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from .model import Box

U = TypeVar("U")

# A gutter is at least this many body line heights wide: column gutters are 1-3 at common
# sizes, and the Federal Register's narrow ones 0.9. Lines are stacked, so no word gap
# is ever seen here; what is, between labels and amounts, the column test judges.
GUTTER = 0.5
# A side is a column of text when its longer lines (85th percentile) are this many body
# line heights wide: a column of prose at 3 columns on A4 is ~14; prices, dates and
# labels are 2-6.
COLUMN_WIDTH = 7.0
# One line alone is prose when it is this wide: a 3-column A4 page's lines are ~14 body line
# heights, a table's column heading of two or three words ("One Withholding") ~5-8.
PROSE_WIDTH = 10.0
# A figure's labels: this many pieces or more, in type no taller than this share of the
# body's line (a chart's ticks and legends are set at 60-70% of the text size).
FIGURE_LABELS = 6
SMALL_TYPE = 0.75
# Above a gap this many line heights tall, strips that are not the tops of the columns below
# (a title, a masthead beside it) are a head read before them; paragraphs are 0.3-1 apart.
SET_OFF = 2.0


def xy_cut(units: Sequence[U], box_of: Callable[[U], Box], line_height: float,
           is_text: Callable[[U], bool]) -> list[list[U]]:
    """The units as leaves in reading order; each leaf a strip that cannot be cut further."""
    units = list(units)
    if len(units) <= 1:
        return [units] if units else []
    strips = _strips(units, box_of)
    head = _set_off_head(strips, box_of, line_height, is_text)
    if head:
        rest = [u for strip in strips[head:] for u in strip]
        top = [u for strip in strips[:head] for u in strip]
        return xy_cut(top, box_of, line_height, is_text) + xy_cut(rest, box_of, line_height, is_text)
    cut = _column_cut(units, box_of, line_height, is_text)
    if cut is not None:
        left = [u for u in units if box_of(u)[2] <= cut]
        right = [u for u in units if box_of(u)[2] > cut]
        return xy_cut(left, box_of, line_height, is_text) + xy_cut(right, box_of, line_height, is_text)
    if len(strips) == 1:
        return [units]
    # Strips joined where together they share a gutter, then the groups again until none
    # join: a strip of a few short lines (a column's heading beside the other column's last
    # line of an item, a column's first lines over a figure beside it) does not show by
    # itself, or with the one strip after it, that its sides are columns; the whole column
    # section after it does.
    groups = _rejoined(strips, box_of, line_height, is_text)
    while len(joined := _rejoined(groups, box_of, line_height, is_text)) < len(groups):
        groups = joined
    if len(groups) == 1:  # never: joined strips have a cut, and `units` had none
        return [units]
    leaves: list[list[U]] = []
    for group in groups:
        leaves.extend(xy_cut(group, box_of, line_height, is_text) if len(group) > 1 else [group])
    return leaves


def _set_off_head(strips: list[list[U]], box_of: Callable[[U], Box], line_height: float,
                  is_text: Callable[[U], bool]) -> int:
    """How many top strips form a head set off from the rest (0 if none): the strips above the
    first gap of SET_OFF line heights, unless they are the tops of the columns below (their
    gutter runs on through the first strip under the gap). A title with a masthead beside it
    is read first, not as the top of the column the masthead sits over."""
    bottom = None
    for k, strip in enumerate(strips):
        top = min(box_of(u)[1] for u in strip)
        if bottom is not None and top - bottom >= SET_OFF * line_height:
            cut = _column_cut([u for s in strips[:k] for u in s], box_of, line_height, is_text)
            if cut is None or any(box_of(u)[0] < cut < box_of(u)[2] for u in strip):
                return k
            return 0
        bottom = max(bottom or 0, max(box_of(u)[3] for u in strip))
    return 0


def _rejoined(groups: list[list[U]], box_of: Callable[[U], Box], line_height: float,
              is_text: Callable[[U], bool]) -> list[list[U]]:
    """Consecutive groups joined where together they have a column cut."""
    out = [groups[0]]
    for group in groups[1:]:
        joined = out[-1] + group
        if _column_cut(joined, box_of, line_height, is_text) is not None:
            out[-1] = joined
        else:
            out.append(group)
    return out


def _strips(units: list[U], box_of: Callable[[U], Box]) -> list[list[U]]:
    """Units split at every horizontal gap that nothing crosses, top to bottom."""
    ordered = sorted(units, key=lambda u: box_of(u)[1])
    strips: list[list[U]] = []
    bottom = None
    for unit in ordered:
        box = box_of(unit)
        if bottom is not None and box[1] < bottom:
            strips[-1].append(unit)
            bottom = max(bottom, box[3])
        else:
            strips.append([unit])
            bottom = box[3]
    return strips


def _column_cut(units: list[U], box_of: Callable[[U], Box], line_height: float,
                is_text: Callable[[U], bool]) -> int | None:
    """The x of the widest gutter that splits `units` into two columns of text, or None."""
    spans = sorted((box_of(u)[0], box_of(u)[2]) for u in units)
    gaps = []
    reach = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - reach >= GUTTER * line_height:
            gaps.append((x0 - reach, reach, x0))
        reach = max(reach, x1)
    for _, start, end in sorted(gaps, reverse=True):
        left = [u for u in units if box_of(u)[2] <= start]
        right = [u for u in units if box_of(u)[0] >= end]
        left_column, right_column = (_is_column(side, box_of, line_height, is_text) for side in (left, right))
        if (left_column and right_column) or (left_column and _is_figure_labels(right, box_of, line_height)) \
                or (right_column and _is_figure_labels(left, box_of, line_height)):
            return (start + end) // 2
    return None


def _is_figure_labels(units: list[U], box_of: Callable[[U], Box], line_height: float) -> bool:
    """A chart's or drawing's text: most of it short pieces in a smaller type than the body
    (axis ticks and labels, legends), under a caption or two. Beside a column of text it is
    a column of its own, not rows to read across into that column; a list of terms beside
    their descriptions is in the body's type and stays rows."""
    if len(units) < FIGURE_LABELS:
        return False
    small = sum(1 for u in units if (box := box_of(u))[3] - box[1] <= SMALL_TYPE * line_height
                and box[2] - box[0] < COLUMN_WIDTH * line_height)
    return small >= 2 / 3 * len(units)


def _is_column(units: list[U], box_of: Callable[[U], Box], line_height: float,
               is_text: Callable[[U], bool]) -> bool:
    """A column of text: its longer lines are column-wide (or it holds a table or a block)."""
    if any(not is_text(u) for u in units):
        return True  # a table or figure region sits in a column of its own
    widths = sorted(box_of(u)[2] - box_of(u)[0] for u in units)
    if not widths:
        return False
    if len(widths) <= 2:
        # Of two lines the longer counts (a column's heading above its first line, 1-2-1
        # pages), when it is a line of prose: a table's two-line column heading is not.
        return widths[-1] >= PROSE_WIDTH * line_height
    return widths[int(0.85 * (len(widths) - 1))] >= COLUMN_WIDTH * line_height
