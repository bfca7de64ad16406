"""Line boxes as the layout sees them: deskewed, axis-aligned, with the page's text size.

A scanned page is often turned by a degree or so; the axis-aligned box of a long line is
then taller than the line and neighbouring lines' boxes overlap, which hides the gaps
that columns and paragraphs are found by. So every line's corners are turned back by the
page's median line angle before its box is taken.
"""
from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from ..types import TextLine
from .model import Box

# Lines at least this many heights long give the page's skew; shorter ones are noisy.
_SKEW_MIN_ASPECT = 4.0
# Turns beyond this are not skew but rotated text (stamps, vertical labels): not undone.
_MAX_SKEW_DEGREES = 8.0

Segment = tuple[float, float, float]  # a ruling, deskewed: (start, end, position across)


@dataclass
class Item:
    """One line as the layout works with it."""

    index: int  # position in the page's lines as given
    line: TextLine
    box: Box  # deskewed, axis-aligned
    text: str

    # The box's sides and sizes, read in every layout loop: plain fields, set once.
    x0: int = field(init=False)
    y0: int = field(init=False)
    x1: int = field(init=False)
    y1: int = field(init=False)
    width: int = field(init=False)
    height: int = field(init=False)
    cy: float = field(init=False)

    def __post_init__(self) -> None:
        self.x0, self.y0, self.x1, self.y1 = self.box
        self.width = max(self.x1 - self.x0, 1)
        self.height = max(self.y1 - self.y0, 1)
        self.cy = (self.y0 + self.y1) / 2

    @property
    def char_width(self) -> float:
        return self.width / max(len(self.text.replace(" ", "")), 1)

    @property
    def vertical(self) -> bool:
        return self.height >= 1.5 * self.width and len(self.text) > 1


def page_skew(lines: list[TextLine]) -> float:
    """The median angle (radians) of the long lines' top edges; 0 when there are none."""
    angles = []
    for line in lines:
        (ax, ay), (bx, by) = line.placement_box[0], line.placement_box[1]
        length = math.hypot(bx - ax, by - ay)
        height = math.hypot(line.placement_box[3][0] - ax, line.placement_box[3][1] - ay)
        if length >= _SKEW_MIN_ASPECT * max(height, 1):
            angles.append(math.atan2(by - ay, bx - ax))
    if not angles:
        return 0.0
    angle = statistics.median(angles)
    return angle if abs(math.degrees(angle)) <= _MAX_SKEW_DEGREES else 0.0


@dataclass(frozen=True)
class Deskew:
    """Turns page points by minus the page's skew, about the page centre."""

    angle: float
    cx: float
    cy: float

    @cached_property
    def _turn(self) -> tuple[float, float]:
        return math.cos(-self.angle), math.sin(-self.angle)

    def point(self, x: float, y: float) -> tuple[float, float]:
        if not self.angle:
            return x, y
        cos, sin = self._turn
        dx, dy = x - self.cx, y - self.cy
        return self.cx + dx * cos - dy * sin, self.cy + dx * sin + dy * cos

    def horizontal(self, s: tuple[int, int, int]) -> Segment:
        """A horizontal ruling (x0, y, x1) turned: (start, end, position)."""
        (ax, ay), (bx, by) = self.point(s[0], s[1]), self.point(s[2], s[1])
        return min(ax, bx), max(ax, bx), (ay + by) / 2

    def vertical(self, s: tuple[int, int, int]) -> Segment:
        """A vertical ruling (x, y0, y1) turned: (start, end, position)."""
        (ax, ay), (bx, by) = self.point(s[0], s[1]), self.point(s[0], s[2])
        return min(ay, by), max(ay, by), (ax + bx) / 2

    def box(self, corners: Sequence[Sequence[float]]) -> Box:
        points = [self.point(x, y) for x, y in corners] if self.angle else corners
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return int(round(min(xs))), int(round(min(ys))), int(round(max(xs))), int(round(max(ys)))


def items_of(lines: list[TextLine], width: int, height: int) -> tuple[list[Item], Deskew]:
    """The page's lines as deskewed items, and the turn that deskewed them."""
    deskew = Deskew(page_skew(lines), width / 2, height / 2)
    items = [Item(index, line, deskew.box(line.placement_box), line.text.strip()) for index, line in enumerate(lines)]
    return items, deskew


def original_box(items: list[Item]) -> Box:
    """The union of the items' boxes in the page's own (not deskewed) frame."""
    xs = [p[0] for item in items for p in item.line.placement_box]
    ys = [p[1] for item in items for p in item.line.placement_box]
    return int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))


def body_size(items: list[Item]) -> tuple[float, float]:
    """(line height, character width) of the page's body text: the medians over its longer
    lines (short ones are headings, labels and numbers as often as body text)."""
    if not items:
        return 1.0, 1.0
    long = [item for item in items if len(item.text) >= 20] or items
    return (float(statistics.median(item.height for item in long)),
            float(statistics.median(item.char_width for item in long)))


def same_row(a: Item, b: Item) -> bool:
    """Side by side: their vertical extents overlap by half the smaller height."""
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap >= 0.5 * min(a.height, b.height)


def rows_of(items: list[Item]) -> list[list[Item]]:
    """Items grouped into visual rows, top to bottom, each row left to right."""
    rows: list[list[Item]] = []
    for item in sorted(items, key=lambda i: (i.cy, i.x0)):
        if rows and any(same_row(item, other) for other in rows[-1]):
            rows[-1].append(item)
        else:
            rows.append([item])
    return [sorted(row, key=lambda i: i.x0) for row in rows]


def word_boxes(item: Item, deskew: Deskew) -> list[tuple[str, Box]]:
    """The item's words with deskewed boxes: the recogniser's where the line has them, else
    its box shared among its words by character position (text layers)."""
    words = item.line.words
    if words and [w.text for w in words] == item.text.split():
        return [(w.text, deskew.box(w.bounding_box)) for w in words]
    return [(text, (x0, item.y0, x1, item.y1)) for text, x0, x1 in spans_by_characters(item.text, item.x0, item.x1)]


def spans_by_characters(text: str, start: int, end: int) -> list[tuple[str, int, int]]:
    """Each word of `text` with the stretch of [start, end] its characters take."""
    per_char = (end - start) / max(len(text), 1)
    out = []
    for match in re.finditer(r"\S+", text):
        a = start + int(round(match.start() * per_char))
        b = max(a + 1, start + int(round(match.end() * per_char)))
        out.append((match.group(), a, b))
    return out
