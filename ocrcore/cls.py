"""Text-line orientation: flip crops the classifier reads as upside down (0/180)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .session import OrtModel

_HEIGHT, _WIDTH = 48, 192  # the PP-OCR mobile v2.0 cls input


@dataclass(frozen=True)
class ClsConfig:
    batch_size: int = 16
    thresh: float = 0.9  # only flip when the classifier is this sure
    max_windows: int = 3  # 192x48 views averaged per long line


def orient(model: OrtModel, crops: list[np.ndarray], config: ClsConfig) -> list[bool]:
    """Rotate crops found upside down in place; return which ones were flipped.

    A long line squeezed into 192x48 becomes unreadable and the classifier then
    guesses (often "180", turning good text into garbage). Instead each line is
    scaled to height 48 and up to `max_windows` unsqueezed 192-wide views are
    classified and their probabilities averaged.
    """
    views, owners = [], []
    for index, crop in enumerate(crops):
        for view in _views(crop, config.max_windows):
            views.append(view)
            owners.append(index)
    probs = np.zeros((len(crops), 2), dtype=np.float32)
    counts = np.zeros(len(crops), dtype=np.float32)
    for start in range(0, len(views), config.batch_size):
        out = model(np.stack(views[start : start + config.batch_size]))
        for owner, p in zip(owners[start : start + config.batch_size], out):
            probs[owner] += p
            counts[owner] += 1
    probs /= np.maximum(counts, 1)[:, None]
    flipped = [False] * len(crops)
    for i, (p0, p180) in enumerate(probs):
        if p180 > p0 and p180 >= config.thresh:
            crops[i] = cv2.rotate(crops[i], cv2.ROTATE_180)
            flipped[i] = True
    return flipped


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
