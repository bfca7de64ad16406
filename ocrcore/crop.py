"""Quads -> upright line crops, and the reading order of lines."""
from __future__ import annotations

import cv2
import numpy as np

from .det import order_clockwise


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
    if _is_vertical(width, height):
        crop = np.rot90(crop)  # vertical line: read it rotated 90 degrees counter-clockwise
    return np.ascontiguousarray(crop)


def _is_vertical(width: int, height: int) -> bool:
    return height >= 1.5 * width


def span_quad(quad: np.ndarray, box: tuple[float, float, float, float], flipped: bool = False) -> np.ndarray:
    """The part of a line's quad given as (x0, x1, y0, y1) fractions of its crop as read.

    Inverts crop_quad's turns: a vertical line's crop runs down the quad (its top edge
    is the quad's right side), and a crop turned 180 degrees runs backwards and upwards.
    Corners come back clockwise from the top-left, in image pixels.
    """
    quad = quad.astype(np.float32)
    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    if _is_vertical(max(width, 1), max(height, 1)):
        near, far = (quad[1], quad[2]), (quad[0], quad[3])  # the crop's top and bottom edges
    else:
        near, far = (quad[0], quad[1]), (quad[3], quad[2])
    x0, x1, y0, y1 = box
    if flipped:
        x0, x1, y0, y1 = 1.0 - x1, 1.0 - x0, 1.0 - y1, 1.0 - y0

    def point(x: float, y: float) -> np.ndarray:
        top = near[0] + x * (near[1] - near[0])
        bottom = far[0] + x * (far[1] - far[0])
        return top + y * (bottom - top)

    return order_clockwise(np.array([point(x0, y0), point(x1, y0), point(x1, y1), point(x0, y1)]))


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
