"""Text recognition: line crops -> text and confidence (CTC greedy decode)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .session import OrtModel

HEIGHT = 48


@dataclass(frozen=True)
class RecConfig:
    batch_size: int = 4  # small batches of width-sorted crops: least padding (measured on sroie-dev)
    min_width: int = 32  # narrowest input; only batches of short crops are this narrow
    width_step: int = 8  # the model downsamples width by 8: pad to whole output steps


@dataclass(frozen=True)
class Recognition:
    text: str
    confidence: float


def load_charset(path: Path) -> list[str]:
    """CTC classes: blank first, the dictionary lines (split on \\n only), then space."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return ["", *lines, " "]


def recognize(model: OrtModel, charset: list[str], crops: list[np.ndarray], config: RecConfig) -> list[Recognition]:
    """Recognise crops batched by similar width so little of each batch is padding."""
    ratios = [c.shape[1] / c.shape[0] for c in crops]
    order = np.argsort(ratios, kind="stable")
    results: list[Recognition | None] = [None] * len(crops)
    for start in range(0, len(order), config.batch_size):
        indices = order[start : start + config.batch_size]
        widest = max(math.ceil(HEIGHT * ratios[i]) for i in indices)
        batch_width = max(config.min_width, math.ceil(widest / config.width_step) * config.width_step)
        batch = np.zeros((len(indices), 3, HEIGHT, batch_width), dtype=np.float32)
        for row, i in enumerate(indices):
            _fill(batch[row], crops[i], batch_width)
        probs = model(batch)
        for row, i in enumerate(indices):
            results[i] = _ctc_greedy(probs[row], charset)
    return results  # type: ignore[return-value]


def _fill(target: np.ndarray, crop: np.ndarray, batch_width: int) -> None:
    h, w = crop.shape[:2]
    new_w = min(batch_width, max(1, math.ceil(HEIGHT * w / h)))
    resized = cv2.resize(crop, (new_w, HEIGHT)).astype(np.float32)
    # Same normalisation as training, (x/255 - 0.5) / 0.5; padding stays 0 (mid grey).
    target[:, :, :new_w] = resized.transpose(2, 0, 1) * np.float32(2 / 255.0) - np.float32(1.0)


def _ctc_greedy(step_probs: np.ndarray, charset: list[str]) -> Recognition:
    best = step_probs.argmax(axis=1)
    best_prob = step_probs[np.arange(len(best)), best]
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    indices = best[keep]
    if indices.size == 0:
        return Recognition("", 0.0)
    text = "".join(charset[i] for i in indices if i < len(charset))
    return Recognition(text, float(best_prob[keep].mean()))
