"""Ruling lines and bullet marks from a page's pixels (OpenCV), for tables drawn with a grid
and for list items whose bullet the recogniser dropped.

Dark pixels are opened with a long thin kernel in each direction: text strokes are far
shorter than the kernel and vanish, rulings stay. The kernel is 1/30 of the page's side
(41 px on an A4 page at 150 dpi, ~2 characters of body text), so a table's shortest cell
edge still survives while letters and most dashes do not.

Cost is what a receipt must not notice. Measured on sroie receipts (2 cores, quiet):
connectedComponentsWithStats took 7 ms per call (2.8 ms on one thread: its parallel pass
costs more than it saves on such images), findContours on the opened image 0.7 ms. So
segments come from external contours, and bullets are looked for only in the strip just
left of each line's text as read (its ink box: the detector's box often takes the bullet
in), where `layout._add_bullets` would accept one, not on the page:
20 ms -> 9 ms a receipt, 56 -> 18 ms an A4 page at 150 dpi (of 1.2-2.5 s and 3-12 s).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .model import Rulings

_KERNEL_SHARE = 1 / 30
# A ruling is thin: at most this share of the page's shorter side thick.
_MAX_THICKNESS = 0.006

# A bullet stands left of its line's start, no farther than BULLET_REACH line heights, and is
# BULLET_SIZE (low, high) of the line's height tall (a "•" is ~0.35-0.5 of it in Latin lines,
# ~0.22 in CJK ones: ideographs fill the em, so the line is taller for the same bullet).
BULLET_REACH = 3.0
BULLET_SIZE = (0.2, 0.7)
# Past this many marks the page is a halftone or noise.
_MAX_MARKS = 400

LineBox = tuple[float, float, float, float]  # x0, y0, x1, y1 of a detected line, image pixels


def find_rulings(bgr: np.ndarray, line_boxes: Sequence[LineBox] = (), stopped: Sequence[LineBox] = ()) -> Rulings:
    """The page's horizontal and vertical rulings, the solid marks left of `line_boxes`, and
    the dotted leaders right of `stopped` (the lines whose text as read ends in a full stop)."""
    import cv2

    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
    height, width = gray.shape[:2]
    if min(height, width) < 64:
        return Rulings()
    dark = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15)
    thick = max(2, int(round(_MAX_THICKNESS * min(height, width))))
    horizontal = _segments(cv2, dark, (max(int(width * _KERNEL_SHARE), 12), 1), thick, horizontal=True)
    vertical = _segments(cv2, dark, (1, max(int(height * _KERNEL_SHARE), 12)), thick, horizontal=False)
    return Rulings(tuple(horizontal), tuple(vertical), find_marks(dark, line_boxes), find_leaders(dark, stopped))


def find_marks(dark: np.ndarray, line_boxes: Sequence[LineBox]) -> tuple[tuple[int, int, int, int], ...]:
    """Bullets: solid, roundish blobs in the strip left of each line (a letter "o" is hollow,
    a dash long) with clear space on their left and nothing between them and the line. The
    space rules out the dots of a leader row ("Robbery . . . . 102.1") and the full stop that
    ends the previous column's line; a blob touching its strip's edge is cut off, so not a
    whole mark. Whether a mark is its line's bullet is the layout's judgement."""
    import cv2

    height, width = dark.shape[:2]
    low_share, high_share = BULLET_SIZE
    found: set[tuple[int, int, int, int]] = set()
    for x0, y0, x1, y1 in line_boxes:
        line_height = y1 - y0
        if line_height < 4 or line_height > x1 - x0:
            continue  # too small to carry a bullet, or a vertical line
        left = max(0, int(x0 - (BULLET_REACH + high_share) * line_height))
        top = max(0, int(y0 - 0.2 * line_height))
        right, bottom = min(width, int(x0)), min(height, int(np.ceil(y1 + 0.2 * line_height)))
        if right - left < 3 or bottom - top < 3:
            continue
        count, _, stats, _ = cv2.connectedComponentsWithStats(dark[top:bottom, left:right], connectivity=8)
        blobs = stats[1:count]
        # Loose here: the detector's box is padded beyond the ink, so its height overstates
        # the line's (a 0.3 bullet measured 0.22 of it); the layout judges by the line's own.
        low, high = max(3, 0.5 * low_share * line_height), high_share * line_height
        for k, (x, y, w, h, area) in enumerate(blobs):
            if x == 0 or y == 0 or x + w == right - left or y + h == bottom - top:
                continue
            if not (low <= w <= high and low <= h <= high and 0.6 <= w / h <= 1.6 and area >= 0.6 * w * h):
                continue
            # A blob cut by the strip's right edge is the line's first letter (a line's box
            # fitted to its ink may start a few pixels inside it), not something between.
            crowded = any(j != k and ox + ow > x - line_height and oy < y + h and oy + oh > y
                          and ox + ow < right - left for j, (ox, oy, ow, oh, _) in enumerate(blobs))
            if not crowded:
                found.add((int(left + x), int(top + y), int(left + x + w), int(top + y + h)))
        if len(found) > _MAX_MARKS:
            return ()
    return tuple(sorted(found, key=lambda m: (m[1], m[0])))


# A leader is LEADER_DOTS or more dots in a row on the line's baseline, the first within
# LEADER_REACH line heights of its end, each under LEADER_DOT of its height, and spaced
# evenly: no two neighbours farther apart than LEADER_SPACING line heights.
LEADER_DOTS = 3
LEADER_REACH = 1.5
LEADER_DOT = 0.3
LEADER_SPACING = 1.0


def find_leaders(dark: np.ndarray, line_boxes: Sequence[LineBox]) -> tuple[tuple[int, int, int, int], ...]:
    """Dotted leaders starting just right of each of `line_boxes`. The strip searched is
    a few line heights wide and only lines read as ending in "." are given, so the cost is
    a few small connected-component passes a table page."""
    import cv2

    height, width = dark.shape[:2]
    found = []
    for x0, y0, x1, y1 in line_boxes:
        line_height = y1 - y0
        if line_height < 4 or line_height > x1 - x0:
            continue
        left, right = int(x1), min(width, int(x1 + (LEADER_REACH + LEADER_DOTS * LEADER_SPACING + 1) * line_height))
        top, bottom = max(0, int(y0)), min(height, int(np.ceil(y1 + 0.1 * line_height)))
        if right - left < 3 or bottom - top < 3:
            continue
        count, _, stats, _ = cv2.connectedComponentsWithStats(dark[top:bottom, left:right], connectivity=8)
        # Blobs touching the strip's top or bottom are the neighbouring lines' strokes
        # (the boxes are padded beyond the ink): not this line's.
        blobs = sorted((int(x), int(y), int(w), int(h)) for x, y, w, h, _ in stats[1:count]
                       if y > 0 and y + h < bottom - top)
        dots: list[tuple[int, int, int, int]] = []
        reach = 0.0  # the strip's left edge: the line's end
        for x, y, w, h in blobs:
            if x - reach > (LEADER_SPACING if dots else LEADER_REACH) * line_height:
                break  # a wide space: the run, if any, has ended
            small = w <= LEADER_DOT * line_height and h <= LEADER_DOT * line_height
            if not small:
                break  # a letter or a figure
            on_baseline = y + h / 2 >= 0.5 * line_height
            if on_baseline and (not dots or abs(y + h / 2 - dots[0][1] - dots[0][3] / 2) <= 0.15 * line_height):
                dots.append((x, y, w, h))
                reach = x + w
        if len(dots) >= LEADER_DOTS:
            found.append((left + dots[0][0], top + min(d[1] for d in dots),
                          left + dots[-1][0] + dots[-1][2], top + max(d[1] + d[3] for d in dots)))
    return tuple(found)


def _segments(cv2, dark: np.ndarray, kernel: tuple[int, int], thick: int, horizontal: bool):
    opened = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
    contours, _ = cv2.findContours(opened, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        # A ruling skewed by up to 2 degrees leans by 3.5% of its length.
        if horizontal and h <= thick * 2 + 0.035 * w:
            out.append((int(x), int(y + h // 2), int(x + w)))
        elif not horizontal and w <= thick * 2 + 0.035 * h:
            out.append((int(x + w // 2), int(y), int(y + h)))
    return sorted(out, key=lambda s: (s[1], s[0]) if horizontal else (s[0], s[1]))
