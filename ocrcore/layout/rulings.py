"""Ruling lines from a page's pixels (OpenCV morphology), for tables drawn with a grid.

Dark pixels are opened with a long thin kernel in each direction: text strokes are far
shorter than the kernel and vanish, rulings stay. The kernel is 1/30 of the page's side
(41 px on an A4 page at 150 dpi, ~2 characters of body text), so a table's shortest cell
edge still survives while letters and most dashes do not.
"""
from __future__ import annotations

import numpy as np

from .model import Rulings

_KERNEL_SHARE = 1 / 30
# A ruling is thin: at most this share of the page's shorter side thick.
_MAX_THICKNESS = 0.006


def find_rulings(bgr: np.ndarray) -> Rulings:
    import cv2

    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
    height, width = gray.shape[:2]
    if min(height, width) < 64:
        return Rulings()
    dark = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15)
    thick = max(2, int(round(_MAX_THICKNESS * min(height, width))))
    horizontal = _segments(cv2, dark, (max(int(width * _KERNEL_SHARE), 12), 1), thick, horizontal=True)
    vertical = _segments(cv2, dark, (1, max(int(height * _KERNEL_SHARE), 12)), thick, horizontal=False)
    return Rulings(tuple(horizontal), tuple(vertical), _marks(cv2, dark, min(height, width)))


# Bullets: solid, roundish blobs from 0.3% to 2.5% of the page's shorter side (4-30 px on an
# A4 page at 150 dpi); a letter "o" is hollow, a dash long. Whether one stands before a
# line is the layout's judgement. Past this many the page is a halftone or noise.
_MAX_MARKS = 400


def _marks(cv2, dark: np.ndarray, side: int) -> tuple[tuple[int, int, int, int], ...]:
    low, high = max(3, int(0.003 * side)), max(6, int(0.025 * side))
    count, _, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    out = []
    for x, y, w, h, area in stats[1:count]:
        if low <= w <= high and low <= h <= high and 0.6 <= w / h <= 1.6 and area >= 0.6 * w * h:
            out.append((int(x), int(y), int(x + w), int(y + h)))
            if len(out) > _MAX_MARKS:
                return ()
    return tuple(out)


def _segments(cv2, dark: np.ndarray, kernel: tuple[int, int], thick: int, horizontal: bool):
    opened = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
    count, _, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    out = []
    for x, y, w, h, _ in stats[1:count]:
        # A ruling skewed by up to 2 degrees leans by 3.5% of its length.
        if horizontal and h <= thick * 2 + 0.035 * w:
            out.append((int(x), int(y + h // 2), int(x + w)))
        elif not horizontal and w <= thick * 2 + 0.035 * h:
            out.append((int(x + w // 2), int(y), int(y + h)))
    return out
