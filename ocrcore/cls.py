"""Text-line orientation: flip crops the classifier reads as upside down (0/180)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .session import Model, padded_rows, run_in_lanes

_HEIGHT, _WIDTH = 48, 192  # the PP-OCR mobile v2.0 cls input


@dataclass(frozen=True)
class ClsConfig:
    batch_size: int = 16
    thresh: float = 0.9  # only flip when the classifier is this sure
    max_windows: int = 3  # 192x48 views averaged per long line
    # Lines follow the page when the page's width-weighted vote is this clear: short
    # crops (a price, "Qty") are often read as 180 with high confidence on upright
    # pages (50 false flips on sroie-dev's 60 upright receipts), while whole pages,
    # not single lines, are what arrives upside down.
    page_margin: float = 0.5


def orient(model: Model, crops: list[np.ndarray], config: ClsConfig) -> list[bool]:
    """Rotate crops found upside down in place; return which ones were flipped.

    A long line squeezed into 192x48 becomes unreadable and the classifier then
    guesses (often "180", turning good text into garbage). Instead each line is
    scaled to height 48 and up to `max_windows` unsqueezed 192-wide views are
    classified and their probabilities averaged. Lines then follow the page's
    vote when it is clear (see ClsConfig.page_margin).
    """
    views, owners = [], []
    for index, crop in enumerate(crops):
        for view in _views(crop, config.max_windows):
            views.append(view)
            owners.append(index)
    probs = np.zeros((len(crops), 2), dtype=np.float32)
    counts = np.zeros(len(crops), dtype=np.float32)
    starts = range(0, len(views), config.batch_size)

    def job(start: int):
        def run(lane: int) -> np.ndarray:
            chunk = views[start : start + config.batch_size]
            if model.shape_buckets:  # a bounded set of batch sizes (see session.py)
                chunk = chunk + [np.zeros_like(chunk[0])] * (padded_rows(len(chunk)) - len(chunk))
            return model(np.stack(chunk), lane)

        return run

    for start, out in zip(starts, run_in_lanes(model, [job(start) for start in starts])):
        for owner, p in zip(owners[start : start + config.batch_size], out):
            probs[owner] += p
            counts[owner] += 1
    probs /= np.maximum(counts, 1)[:, None]
    # A line's say in the page vote grows with its length (more text, surer call).
    widths = np.array([min(c.shape[1] / c.shape[0], config.max_windows * _WIDTH / _HEIGHT) for c in crops])
    flipped = _decide(probs, widths, config)
    for i, flip in enumerate(flipped):
        if flip:
            crops[i] = cv2.rotate(crops[i], cv2.ROTATE_180)
    return flipped


def _decide(probs: np.ndarray, weights: np.ndarray, config: ClsConfig) -> list[bool]:
    """The page's vote when it is clear, else each line's own confident call."""
    margins = probs[:, 1] - probs[:, 0]
    page = float((margins * weights).sum() / weights.sum()) if len(weights) else 0.0
    if abs(page) >= config.page_margin:
        return [page > 0] * len(probs)
    return [bool(p180 > p0 and p180 >= config.thresh) for p0, p180 in probs]


def _views(crop: np.ndarray, max_windows: int) -> list[np.ndarray]:
    h, w = crop.shape[:2]
    scaled_w = max(1, math.ceil(_HEIGHT * w / h))
    resized = cv2.resize(crop, (scaled_w, _HEIGHT)).astype(np.float32)
    normalised = (resized.transpose(2, 0, 1) * np.float32(2 / 255.0)) - np.float32(1.0)
    if scaled_w <= _WIDTH:
        out = np.zeros((3, _HEIGHT, _WIDTH), dtype=np.float32)
        out[:, :, :scaled_w] = normalised
        return [out]
    count = min(max_windows, math.ceil(scaled_w / _WIDTH))
    starts = np.linspace(0, scaled_w - _WIDTH, count).astype(int)
    return [np.ascontiguousarray(normalised[:, :, s : s + _WIDTH]) for s in starts]
