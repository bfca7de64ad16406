"""Accuracy metrics against sroie-dev's line boxes and transcripts."""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import Polygon


@dataclass
class Line:
    text: str
    box: list[list[float]]


def load_ground_truth(csv_path: Path) -> list[Line]:
    lines = []
    with csv_path.open(encoding="utf-8", errors="replace", newline="") as f:
        for row in csv.reader(f):
            if len(row) < 9:
                continue
            coords = [float(v) for v in row[:8]]
            box = [coords[i : i + 2] for i in range(0, 8, 2)]
            lines.append(Line(",".join(row[8:]).strip(), box))
    return lines


def _polygon(box) -> Polygon:
    poly = Polygon(box)
    return poly if poly.is_valid else poly.buffer(0)


def match_lines(pred: list[Line], truth: list[Line], iou_min: float = 0.5) -> list[tuple[int, int]]:
    """Greedy one-to-one matching by IoU, best pairs first."""
    pred_polys = [_polygon(p.box) for p in pred]
    truth_polys = [_polygon(t.box) for t in truth]
    pairs = []
    for i, p in enumerate(pred_polys):
        for j, t in enumerate(truth_polys):
            if not p.intersects(t):
                continue
            inter = p.intersection(t).area
            union = p.area + t.area - inter
            if union > 0 and inter / union >= iou_min:
                pairs.append((inter / union, i, j))
    used_p, used_t, matched = set(), set(), []
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            matched.append((i, j))
    return matched


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def words(lines: list[Line]) -> Counter:
    return Counter(w for line in lines for w in line.text.upper().split())


@dataclass
class Tally:
    det_tp: int = 0
    det_pred: int = 0
    det_truth: int = 0
    word_tp: int = 0
    word_pred: int = 0
    word_truth: int = 0
    char_errors: int = 0
    char_total: int = 0

    def add(self, pred: list[Line], truth: list[Line]) -> None:
        matched = match_lines(pred, truth)
        self.det_tp += len(matched)
        self.det_pred += len(pred)
        self.det_truth += len(truth)
        pw, tw = words(pred), words(truth)
        self.word_tp += sum((pw & tw).values())
        self.word_pred += sum(pw.values())
        self.word_truth += sum(tw.values())
        for i, j in matched:
            gt = truth[j].text.upper()
            self.char_errors += edit_distance(pred[i].text.upper(), gt)
            self.char_total += len(gt)

    @staticmethod
    def _f1(tp: int, n_pred: int, n_truth: int) -> tuple[float, float, float]:
        p = tp / n_pred if n_pred else 0.0
        r = tp / n_truth if n_truth else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    def summary(self) -> dict[str, float]:
        dp, dr, df = self._f1(self.det_tp, self.det_pred, self.det_truth)
        _, _, wf = self._f1(self.word_tp, self.word_pred, self.word_truth)
        return {
            "det_precision": dp,
            "det_recall": dr,
            "det_f1": df,
            "word_f1": wf,
            "cer": self.char_errors / self.char_total if self.char_total else 0.0,
        }
