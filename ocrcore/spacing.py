"""Characters, spaces and word spans from the CTC frames of one recognised line.

Each output frame of the recogniser covers 8 input columns of the 48-px-high line, so
the frames where a character fires give its horizontal position. Two uses:

- Space recovery: the recognisers often run two printed words together
  (`30-04-201815:57`, `SDN.BHD`). Between two adjacent characters of a token with no
  CJK in it, a space is inserted when the gap between their centres is clearly wider
  than the line's own character pitch (the median centre distance inside its tokens)
  and the model itself gave the space class some probability in the frames between.
  The model's own spaces are always kept; tokens holding CJK (or other wide) characters
  are never split, since no spaces belong inside or next to them; nor is a space put
  after an opening bracket, before a closing one or after a decimal point.
- Word boxes: each space-separated word's extent along the line from its first and last
  character centres widened by half a pitch, then fitted to the ink it covers (their
  union is the line box the engine reports).

Rules: numpy, OpenCV and the standard library; thresholds are relative to the line's own
pitch, never absolute pixel counts.
"""
from __future__ import annotations

import statistics
import unicodedata
from dataclasses import dataclass

import cv2
import numpy as np

STRIDE = 8  # input columns per output frame of the PP-OCR recognisers (measured: T = width / 8)

# A dropped space shows as a wider gap AND some space probability between the characters.
# Measured on both recognisers' sroie-dev lines (and checked on rendered DejaVu lines):
# where a printed space was dropped, the gap is a median 1.35-1.5 pitches and the space
# class reaches 0.05 in 73-86% of cases; where there is no space, the gap is 1.0 pitch
# and the space class stays below 0.05 in 99.6%.
# Geometry alone mixes the two far more (any threshold from 1.3 to 2 pitches): CTC fires
# each character on a single frame, jittering by one, and a pitch is only 2-4 frames.
GAP_PITCHES = 1.25  # a quarter of a character cell wider than the line's usual pitch
SPACE_PROB = 0.05
MIN_PAIRS = 2  # a pitch needs at least this many character pairs to be a statistic


@dataclass(frozen=True)
class Glyph:
    char: str
    centre: float  # in output frames, sub-frame (probability-weighted)
    first: int  # first and last frame of its run
    last: int


def glyphs(step_probs: np.ndarray, best: np.ndarray, keep: np.ndarray, charset: list[str]) -> list[Glyph]:
    """The greedy CTC path as characters with their frame positions."""
    out = []
    frames = len(best)
    for t in np.flatnonzero(keep):
        c = best[t]
        if c >= len(charset):
            continue
        last = t
        while last + 1 < frames and best[last + 1] == c:
            last += 1
        lo, hi = max(0, int(t) - 1), min(frames, int(last) + 2)
        weights = step_probs[lo:hi, c]
        total = float(weights.sum())
        centre = float(np.dot(np.arange(lo, hi), weights) / total) if total > 0 else (t + last) / 2
        out.append(Glyph(charset[c], centre, int(t), int(last)))
    return out


def is_wide(char: str) -> bool:
    """CJK ideographs, kana, Hangul, full- and half-width forms: scripts without spaces."""
    return any(unicodedata.east_asian_width(ch) in ("W", "F", "H") for ch in char)


def _tokens(glyphs_: list[Glyph]) -> list[list[int]]:
    """Indices of the glyphs between the model's own spaces."""
    tokens: list[list[int]] = []
    current: list[int] = []
    for i, g in enumerate(glyphs_):
        if g.char.isspace():
            if current:
                tokens.append(current)
            current = []
        else:
            current.append(i)
    if current:
        tokens.append(current)
    return tokens


def recover_spaces(glyphs_: list[Glyph], step_probs: np.ndarray, space_index: int) -> list[Glyph]:
    """The glyphs with a space glyph inserted at each dropped word gap (see module doc)."""
    spaced = [t for t in _tokens(glyphs_) if not any(is_wide(glyphs_[i].char) for i in t)]
    pairs = [(a, b) for t in spaced for a, b in zip(t, t[1:])]
    if len(pairs) < MIN_PAIRS:
        return glyphs_
    pitch = statistics.median(glyphs_[b].centre - glyphs_[a].centre for a, b in pairs)
    if pitch <= 0:
        return glyphs_
    insert_after = set()
    for a, b in pairs:
        left, right = glyphs_[a], glyphs_[b]
        if right.centre - left.centre < GAP_PITCHES * pitch or right.first <= left.last + 1:
            continue
        if _never_spaced(glyphs_[a - 1].char if a else "", left.char, right.char):
            continue
        if float(step_probs[left.last + 1 : right.first, space_index].max()) >= SPACE_PROB:
            insert_after.add(a)
    if not insert_after:
        return glyphs_
    out = []
    for i, g in enumerate(glyphs_):
        out.append(g)
        if i in insert_after:
            nxt = glyphs_[i + 1]
            out.append(Glyph(" ", (g.centre + nxt.centre) / 2, g.last + 1, nxt.first - 1))
    return out


def _never_spaced(before: str, left: str, right: str) -> bool:
    """Typography, whatever the gap: nothing after an opening bracket or before a closing
    one, nothing after a decimal point. (A narrow glyph next to a missed one leaves such
    gaps: `( 801580-T )`, `54. 56` were among the wrong insertions on receipts.)"""
    if left in "([{" or right in ")]}":
        return True
    return left == "." and before.isdigit() and right.isdigit()


def word_spans(glyphs_: list[Glyph], input_width: int) -> list[tuple[str, float, float]]:
    """(word, start, end) per space-separated word, start/end as fractions of the line width.

    A word reaches half a pitch beyond its outer character centres: its own median pitch
    when it has two or more characters, else the line's, else the whole line.
    """
    tokens = _tokens(glyphs_)
    if not tokens:
        return []
    all_pairs = [glyphs_[b].centre - glyphs_[a].centre for t in tokens for a, b in zip(t, t[1:])]
    line_pitch = statistics.median(all_pairs) if all_pairs else None
    frames = input_width / STRIDE
    spans = []
    for t in tokens:
        text = "".join(glyphs_[i].char for i in t)
        own = [glyphs_[b].centre - glyphs_[a].centre for a, b in zip(t, t[1:])]
        pitch = statistics.median(own) if own else line_pitch
        if pitch is None:  # a single character on its own line
            spans.append((text, 0.0, 1.0))
            continue
        start = glyphs_[t[0]].centre + 0.5 - pitch / 2  # frame k covers [k, k+1) in frame units
        end = glyphs_[t[-1]].centre + 0.5 + pitch / 2
        spans.append((text, max(0.0, start / frames), min(1.0, end / frames)))
    return spans


def fit_to_ink(crop: np.ndarray, spans: list[tuple[str, float, float]]) -> list[tuple[str, float, float, float, float]]:
    """(word, x0, x1, y0, y1): each span tightened to the ink it covers, as fractions of the crop.

    CTC fires a character anywhere inside its glyph (a frame off either way), and the line
    box has margins above and below; the ink says where the word is. Ink is the Otsu
    minority of the crop, within the line's band of rows (the inked rows holding the most
    ink; a neighbouring line or a rule reaching into the crop lies beyond a blank gap). A
    word keeps the runs of ink columns that overlap its span, looked for up to half a
    character beyond it but never past its neighbours' spans.
    """
    h, w = crop.shape[:2]
    if not spans or h < 2 or w < 2:
        return [(t, a, b, 0.0, 1.0) for t, a, b in spans]
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if ink.mean() > 0.5:  # light text on a dark ground
        ink = 1 - ink
    top, bottom = _ink_band(ink.sum(axis=1), h)
    ink = ink[top:bottom]
    columns = ink.sum(axis=0) >= max(1, (bottom - top) // 20)  # a speck of noise is not a column of ink
    out = []
    for i, (text, a, b) in enumerate(spans):
        s, e = a * w, b * w
        reach = (e - s) / max(len(text), 1) / 2
        lo = max(0.0, s - reach, spans[i - 1][2] * w if i else 0.0)
        hi = min(float(w), e + reach, spans[i + 1][1] * w if i + 1 < len(spans) else float(w))
        x0 = x1 = None
        col, stop = int(lo), int(np.ceil(hi))
        while col < stop:
            if not columns[col]:
                col += 1
                continue
            run_end = col
            while run_end + 1 < stop and columns[run_end + 1]:
                run_end += 1
            if run_end + 1 > s and col < e:  # the run overlaps the word's own span
                x0 = col if x0 is None else x0
                x1 = run_end + 1
            col = run_end + 1
        if x0 is None:
            out.append((text, a, b, top / h, bottom / h))
            continue
        y0, y1 = _ink_band(ink[:, x0:x1].sum(axis=1), h)
        out.append((text, x0 / w, x1 / w, (top + y0) / h, (top + y1) / h))
    return out


def _ink_band(row_ink: np.ndarray, crop_height: int) -> tuple[int, int]:
    """Rows [y0, y1) of the run of inked rows holding the most ink. Gaps of up to a
    sixteenth of the crop's height are bridged (dot-matrix print has blank rows between
    its rows of dots); a neighbouring line is further away than that."""
    inked = np.flatnonzero(row_ink > 0)
    if inked.size == 0:
        return 0, len(row_ink)
    bridge = max(1, crop_height // 16)
    breaks = np.flatnonzero(np.diff(inked) > bridge + 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [inked.size - 1]])
    totals = [row_ink[inked[a] : inked[b] + 1].sum() for a, b in zip(starts, ends)]
    best = int(np.argmax(totals))
    return int(inked[starts[best]]), int(inked[ends[best]]) + 1
