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


def orient(model: OrtModel, crops: list[np.ndarray], config: ClsConfig) -> list[bool]:
    """Rotate crops found upside down in place; return which ones were flipped."""
    flipped = [False] * len(crops)
    for start in range(0, len(crops), config.batch_size):
        indices = range(start, min(start + config.batch_size, len(crops)))
        batch = np.stack([_prepare(crops[i]) for i in indices])
        probs = model(batch)
        for i, (p0, p180) in zip(indices, probs):
            if p180 > p0 and p180 >= config.thresh:
                crops[i] = cv2.rotate(crops[i], cv2.ROTATE_180)
                flipped[i] = True
    return flipped


def _prepare(crop: np.ndarray) -> np.ndarray:
    h, w = crop.shape[:2]
    new_w = min(_WIDTH, max(1, math.ceil(_HEIGHT * w / h)))
    resized = cv2.resize(crop, (new_w, _HEIGHT)).astype(np.float32)
    out = np.zeros((3, _HEIGHT, _WIDTH), dtype=np.float32)
    out[:, :, :new_w] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    return out
