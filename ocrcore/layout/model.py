"""The layout's typed values: a page as blocks in reading order, tables as cells.

Boxes are axis-aligned (x0, y0, x1, y1) in the page's pixel frame. A block refers to its
lines by their index in the page's lines in reading order (`PageLayout.lines`), so the
JSON layout can point into the page's `results` without repeating them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..types import TextLine

Box = tuple[int, int, int, int]
BlockType = Literal["heading", "paragraph", "list_item", "table", "caption", "header", "footer"]
BLOCK_TYPES: tuple[BlockType, ...] = ("heading", "paragraph", "list_item", "table", "caption", "header", "footer")
# Page furniture: left out of text, markdown and html unless asked for; always in JSON.
FURNITURE: frozenset[str] = frozenset({"header", "footer"})


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    text: str
    box: Box
    lines: tuple[int, ...] = ()
    rowspan: int = 1
    colspan: int = 1

    def to_dict(self) -> dict:
        return {"row": self.row, "col": self.col, "rowspan": self.rowspan, "colspan": self.colspan,
                "text": self.text, "bbox": list(self.box), "lines": list(self.lines)}


@dataclass(frozen=True)
class Table:
    rows: int
    cols: int
    cells: tuple[Cell, ...]  # row-major; a spanned position has no cell of its own
    header_rows: int = 1
    ruled: bool = False  # found from ruling lines (else from aligned text)

    def grid(self) -> list[list[str]]:
        """rows x cols of cell text; a spanning cell's text in its first position, "" elsewhere."""
        out = [["" for _ in range(self.cols)] for _ in range(self.rows)]
        for cell in self.cells:
            out[cell.row][cell.col] = cell.text
        return out

    def to_dict(self) -> dict:
        return {"rows": self.rows, "cols": self.cols, "header_rows": self.header_rows, "ruled": self.ruled,
                "cells": [cell.to_dict() for cell in self.cells]}


@dataclass(frozen=True)
class Block:
    type: BlockType
    box: Box
    lines: tuple[int, ...]  # indices into PageLayout.lines, in reading order
    text: str  # the block's text rebuilt: lines joined, hyphenation undone
    level: int = 0  # heading level, 1 the largest; 0 for other blocks
    ordered: bool = False  # list_item: numbered ("1.", "a)") rather than bulleted
    marker: str = ""  # list_item: its bullet or number as written
    table: Table | None = None
    continued: bool = False  # paragraph, list item: goes on in the next paragraph block (next column or page)

    def to_dict(self) -> dict:
        out: dict = {"type": self.type, "bbox": list(self.box), "lines": list(self.lines), "text": self.text}
        if self.type == "heading":
            out["level"] = self.level
        if self.type == "list_item":
            out["ordered"] = self.ordered
            out["marker"] = self.marker
        if self.table is not None:
            out["table"] = self.table.to_dict()
        if self.continued:
            out["continued"] = True
        return out


@dataclass(frozen=True)
class PageLayout:
    lines: list[TextLine]  # every line of the page, in reading order (furniture included)
    blocks: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"blocks": [block.to_dict() for block in self.blocks]}


@dataclass(frozen=True)
class Rulings:
    """Ruling lines found on a page, in its pixel frame: horizontal (x0, y, x1) and
    vertical (x, y0, y1) segments."""

    horizontal: tuple[tuple[int, int, int], ...] = ()
    vertical: tuple[tuple[int, int, int], ...] = ()
    # Small solid marks (x0, y0, x1, y1): bullets, which the recogniser often drops.
    marks: tuple[tuple[int, int, int, int], ...] = ()
    # Dotted leaders (x0, y0, x1, y1) running on from a line's end, which the detector cut
    # off after their first dot ("Robbery." of "Robbery . . . . 102.1").
    leaders: tuple[tuple[int, int, int, int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.horizontal or self.vertical or self.marks or self.leaders)

    def to_json(self) -> dict:
        return {"h": [list(s) for s in self.horizontal], "v": [list(s) for s in self.vertical],
                "m": [list(s) for s in self.marks], "l": [list(s) for s in self.leaders]}

    @classmethod
    def from_json(cls, raw: dict | None) -> Rulings | None:
        if not raw:
            return None
        def segments(key: str) -> tuple[tuple[int, int, int], ...]:
            return tuple((int(s[0]), int(s[1]), int(s[2])) for s in raw.get(key, ()) if len(s) == 3)

        def boxes(key: str) -> tuple[tuple[int, int, int, int], ...]:
            return tuple((int(s[0]), int(s[1]), int(s[2]), int(s[3])) for s in raw.get(key, ()) if len(s) == 4)

        return cls(segments("h"), segments("v"), boxes("m"), boxes("l"))
