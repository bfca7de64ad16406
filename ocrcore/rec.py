"""Text recognition: line crops -> text, confidence and word spans (CTC greedy decode).

The greedy path's frame positions recover dropped spaces and give word spans (see
spacing.py); confidence is the mean probability of the characters the model emitted.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .session import Model, bucket_width, padded_rows, run_in_lanes
from .spacing import fit_to_ink, glyphs, recover_spaces, word_spans

HEIGHT = 48


@dataclass(frozen=True)
class RecConfig:
    batch_size: int = 4  # small batches of width-sorted crops: least padding (measured on sroie-dev)
    # ... and at most this many input columns a batch (rows x width), so a batch of page-wide
    # lines stays as small as a batch of receipt lines. The model's output is 18,710 floats a
    # frame (8 columns): four A4 lines of 1,690 columns made 63 MB output tensors, about three
    # alive per call (matmul, bias, softmax), and with two lanes the rec stage took a child's
    # peak RSS from 552 to 734 MiB on one A4 page. Calls cost little on their own (the same
    # 296 crops in 296 one-line calls or 74 four-line ones: 3.7-3.9 s against 4.1-4.5 s).
    max_columns: int = 2048
    min_width: int = 32  # narrowest input; only batches of short crops are this narrow
    width_step: int = 8  # the model downsamples width by 8: pad to whole output steps


@dataclass(frozen=True)
class Recognition:
    text: str
    confidence: float
    # (word, x0, x1, y0, y1): each word's box as fractions of the crop's width and height,
    # in the crop as read (after any 0/180 turn).
    words: tuple[tuple[str, float, float, float, float], ...] = ()
    # (x0, x1, y0, y1): the union of the word boxes, the text's own extent in the crop.
    box: tuple[float, float, float, float] | None = None


def load_charset(path: Path) -> list[str]:
    """CTC classes: blank first, the dictionary lines (split on \\n only), then space."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return ["", *lines, " "]


def recognize(model: Model, charset: list[str], crops: list[np.ndarray], config: RecConfig) -> list[Recognition]:
    """Recognise crops batched by similar width so little of each batch is padding; the
    batches run on the model's lanes, widest first (session.run_in_lanes)."""
    ratios = [c.shape[1] / c.shape[0] for c in crops]
    order = np.argsort(ratios, kind="stable")
    groups = _batches(order, [max(config.min_width, math.ceil(HEIGHT * r)) for r in ratios], config)

    def job(indices: np.ndarray) -> Callable[[int], list[Recognition]]:
        def run(lane: int) -> list[Recognition]:
            widest = max(math.ceil(HEIGHT * ratios[i]) for i in indices)
            rows = len(indices)
            if model.shape_buckets:  # a bounded set of shapes (see session.py); padding reads as blank
                batch_width = bucket_width(widest, config.min_width, config.width_step)
                rows = padded_rows(rows)
            else:
                batch_width = max(config.min_width, math.ceil(widest / config.width_step) * config.width_step)
            batch = np.zeros((rows, 3, HEIGHT, batch_width), dtype=np.float32)
            widths = [_fill(batch[row], crops[i], batch_width) for row, i in enumerate(indices)]
            probs = model(batch, lane)
            return [_ctc_greedy(probs[row], charset, crops[i], widths[row]) for row, i in enumerate(indices)]

        return run

    results: list[Recognition | None] = [None] * len(crops)
    for indices, found in zip(groups[::-1], run_in_lanes(model, [job(g) for g in groups[::-1]])):
        for i, recognition in zip(indices, found):
            results[i] = recognition
    return results  # type: ignore[return-value]


def _batches(order: np.ndarray, widths: list[int], config: RecConfig) -> list[np.ndarray]:
    """Consecutive runs of `order` (crops by width) of at most batch_size crops and max_columns
    columns (rows x the widest); a crop wider than max_columns goes alone."""
    groups: list[list[int]] = []
    for index in order:
        group = groups[-1] if groups else None
        if group is None or len(group) >= config.batch_size or (len(group) + 1) * widths[index] > config.max_columns:
            groups.append([int(index)])
        else:
            group.append(int(index))
    return [np.array(group) for group in groups]


def _fill(target: np.ndarray, crop: np.ndarray, batch_width: int) -> int:
    """Write the normalised crop into target; return its width in input columns."""
    h, w = crop.shape[:2]
    new_w = min(batch_width, max(1, math.ceil(HEIGHT * w / h)))
    resized = cv2.resize(crop, (new_w, HEIGHT)).astype(np.float32)
    # Same normalisation as training, (x/255 - 0.5) / 0.5; padding stays 0 (mid grey).
    target[:, :, :new_w] = resized.transpose(2, 0, 1) * np.float32(2 / 255.0) - np.float32(1.0)
    return new_w


def _ctc_greedy(step_probs: np.ndarray, charset: list[str], crop: np.ndarray, input_width: int) -> Recognition:
    best = step_probs.argmax(axis=1)
    best_prob = step_probs[np.arange(len(best)), best]
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    if not keep.any():
        return Recognition("", 0.0)
    path = recover_spaces(glyphs(step_probs, best, keep, charset), step_probs, len(charset) - 1)
    text = "".join(g.char for g in path)
    words = fit_to_ink(crop, word_spans(path, input_width))
    box = None
    if words:
        box = (words[0][1], words[-1][2], min(w[3] for w in words), max(w[4] for w in words))
    return Recognition(text, float(best_prob[keep].mean()), tuple(words), box)
