"""Quads -> upright line crops, and the reading order of lines."""
from __future__ import annotations

import cv2
import numpy as np


def crop_quad(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Perspective-correct crop of one text line; tall crops are turned to lie flat."""
    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    width, height = max(width, 1), max(height, 1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    crop = cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    if height >= 1.5 * width:
        crop = np.rot90(crop)  # vertical line: read it rotated 90 degrees counter-clockwise
    return np.ascontiguousarray(crop)


def reading_order(quads: list[np.ndarray]) -> list[int]:
    """Indices of quads top-to-bottom, then left-to-right within a visual row.

    Two lines share a row when their vertical centres are closer than half the
    smaller line height, which tolerates slight skew without merging stacked lines.
    """
    if not quads:
        return []
    tops = np.array([q[:, 1].min() for q in quads])
    bottoms = np.array([q[:, 1].max() for q in quads])
    lefts = np.array([q[:, 0].min() for q in quads])
    centres = (tops + bottoms) / 2
    heights = np.maximum(bottoms - tops, 1.0)
    order = sorted(range(len(quads)), key=lambda i: (centres[i], lefts[i]))
    rows: list[list[int]] = []
    for i in order:
        row = rows[-1] if rows else None
        if row is not None:
            anchor = row[0]
            tolerance = 0.5 * min(heights[i], heights[anchor])
            if abs(centres[i] - centres[anchor]) <= tolerance:
                row.append(i)
                continue
        rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: lefts[j])]
