"""Space recovery and word boxes from the recogniser's character positions.

Unit tests drive ocrcore.spacing with hand-made CTC frames; the others read lines
rendered with real fonts through both model sets and check the text and the hOCR word
boxes against where the words were drawn.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrcore import OcrOptions
from ocrcore.formats import PageResult, to_hocr
from ocrcore.spacing import glyphs, recover_spaces, word_spans
from tests.core.textimages import FONT

MODELS = ("ppocrv6-small", "ppocrv5-mobile")
CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
CHARSET = ["", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:.-()", "中", "文", "字", " "]
SPACE = len(CHARSET) - 1


def frames(path: list[tuple[int, str]], length: int, space_between: dict[int, float] | None = None) -> np.ndarray:
    """CTC probabilities firing each (frame, char) once, blank elsewhere; optional space
    probability on given frames."""
    probs = np.zeros((length, len(CHARSET)), dtype=np.float32)
    probs[:, 0] = 1.0
    for t, char in path:
        probs[t, 0] = 0.0
        probs[t, CHARSET.index(char)] = 1.0
    for t, p in (space_between or {}).items():
        probs[t, SPACE] = p
        probs[t, 0] = 1.0 - p
    return probs


def decode(probs: np.ndarray) -> str:
    best = probs.argmax(axis=1)
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    return "".join(g.char for g in recover_spaces(glyphs(probs, best, keep, CHARSET), probs, SPACE))


def evenly(text: str, pitch: int = 3, start: int = 1, gap_after: int | None = None, gap: int = 2):
    """(frame, char) for text at a fixed pitch, `gap` extra frames after index gap_after."""
    out, t = [], start
    for i, char in enumerate(text):
        out.append((t, char))
        t += pitch + (gap if i == gap_after else 0)
    return out, t


def test_a_wide_gap_with_space_probability_becomes_a_space():
    path, end = evenly("SDN.BHD", gap_after=3)
    gap_frame = path[3][0] + 2
    assert decode(frames(path, end, {gap_frame: 0.2})) == "SDN. BHD"


@pytest.mark.parametrize("gap, space_prob", [(2, 0.0), (0, 0.2)])
def test_gap_alone_or_space_probability_alone_is_not_enough(gap, space_prob):
    path, end = evenly("SDN.BHD", gap_after=3, gap=gap)
    assert decode(frames(path, end, {path[3][0] + 2: space_prob})) == "SDN.BHD"


@pytest.mark.parametrize("text, gap_after", [("(80-T)", 0), ("(80-T)", 4), ("54.56", 2)])
def test_no_space_after_an_opening_bracket_before_a_closing_one_or_after_a_decimal_point(text, gap_after):
    path, end = evenly(text, gap_after=gap_after)
    assert decode(frames(path, end, {path[gap_after][0] + 2: 0.3})) == text


def test_a_full_stop_after_a_word_may_take_a_space():
    path, end = evenly("NO.32", gap_after=2)
    assert decode(frames(path, end, {path[2][0] + 2: 0.3})) == "NO. 32"


def test_the_models_own_spaces_are_kept():
    path, end = evenly("AB CD")
    assert decode(frames(path, end)) == "AB CD"


@pytest.mark.parametrize("text", ["中文字", "中文12", "AB:中文", "12.中"])
def test_no_space_is_inserted_into_or_next_to_cjk(text):
    path, end = evenly(text, gap_after=1, gap=3)
    assert decode(frames(path, end, {path[1][0] + 2: 0.4})) == text


def test_word_spans_follow_the_characters():
    path, end = evenly("AB CDE", pitch=3, start=2)
    probs = frames(path, end + 2)
    best = probs.argmax(axis=1)
    keep = best != 0
    spans = word_spans(glyphs(probs, best, keep, CHARSET), input_width=8 * (end + 2))
    assert [w for w, _, _ in spans] == ["AB", "CDE"]
    (_, a0, a1), (_, b0, b1) = spans
    assert 0 <= a0 < a1 <= b0 < b1 <= 1


# ---------- real models on rendered lines ----------


def render_words(words: list[str], gap: float, font_path: str = FONT, size: int = 32):
    """BGR image of the words drawn `gap` digit-widths apart, and each word's ink box."""
    font = ImageFont.truetype(font_path, size)
    advance = font.getlength("0")
    width = int(sum(font.getlength(w) for w in words) + gap * advance * len(words) + 2 * size)
    image = Image.new("RGB", (width, 3 * size), "white")
    draw = ImageDraw.Draw(image)
    x, boxes = float(size), []
    for word in words:
        draw.text((x, size), word, fill="black", font=font)
        boxes.append(draw.textbbox((x, size), word, font=font))
        x += font.getlength(word) + gap * advance
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1]), boxes


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("words", [["30-04-2018", "15:57"], ["TEL:", "03-56127718"]])
def test_spaces_the_recogniser_drops_are_recovered(engine, model, words):
    # Words closer than a normal space (0.7 digit widths): both recognisers run them together.
    image, _ = render_words(words, gap=0.7)
    (line,) = engine.run(image, OcrOptions(model=model)).lines
    assert line.text == " ".join(words)


@pytest.mark.parametrize("model", MODELS)
def test_no_spaces_inserted_into_spaced_out_cjk(engine, model):
    # Chinese drawn with gaps wider than a glyph, digits and Latin inside: no space belongs.
    text = "营业执照注册号码2018年合计RM56元"
    image, _ = render_words(list(text), gap=0.6, font_path=CJK_FONT)
    lines = engine.run(image, OcrOptions(model=model)).lines
    assert lines
    read = "".join(line.text for line in lines)
    assert " " not in read, read


def iou_1d(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def box_iou(a, b) -> float:
    return iou_1d((a[0], a[2]), (b[0], b[2])) * iou_1d((a[1], a[3]), (b[1], b[3]))


@pytest.mark.parametrize("model", MODELS)
def test_hocr_word_boxes_cover_the_rendered_words(engine, model):
    words = ["Invoice", "48213", "total", "amount", "due", "RM", "56.70", "thank", "you"]
    image, truth = render_words(words, gap=1.0)
    result = engine.run(image, OcrOptions(model=model))
    page = PageResult(1, result.width, result.height, "ocr", result.lines)
    root = ET.fromstring(to_hocr([page]).encode("utf-8"))
    found = [
        (el.text, [int(v) for v in re.search(r"bbox (\d+) (\d+) (\d+) (\d+)", el.get("title")).groups()])
        for el in root.iter()
        if el.get("class") == "ocrx_word"
    ]
    assert [text for text, _ in found] == words
    for (text, box), rendered in zip(found, truth):
        assert box_iou(box, rendered) >= 0.5, (text, box, rendered)


# ---------- crop fractions back to image quads ----------


@pytest.mark.parametrize(
    "quad, flipped, expected",
    [
        # A flat line 200x20: the middle half of it, the top half of its height.
        ([[0, 0], [200, 0], [200, 20], [0, 20]], False, [[50, 0], [150, 0], [150, 10], [50, 10]]),
        # Read turned 180 degrees: the crop's left is the quad's right, its top the bottom.
        ([[0, 0], [200, 0], [200, 20], [0, 20]], True, [[50, 10], [150, 10], [150, 20], [50, 20]]),
        # A vertical line 20x200, read turned 90 degrees counter-clockwise: the crop's left
        # is the quad's top and its top edge the quad's right side.
        ([[0, 0], [20, 0], [20, 200], [0, 200]], False, [[10, 50], [20, 50], [20, 150], [10, 150]]),
    ],
)
def test_span_quad_inverts_the_crop_turns(quad, flipped, expected):
    from ocrcore.crop import crop_quad, span_quad

    box = (0.25, 0.75, 0.0, 0.5)
    got = span_quad(np.array(quad, dtype=np.float32), box, flipped)
    assert np.allclose(got, expected), got
    # And the crop really has that orientation: mark the quad's region in an image and
    # find the mark where the fractions say, in the crop as read.
    image = np.full((220, 220, 3), 255, np.uint8)
    x0, y0 = np.min(expected, axis=0)
    x1, y1 = np.max(expected, axis=0)
    image[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2] = 0
    crop = crop_quad(image, np.array(quad, dtype=np.float32))
    if flipped:
        crop = np.rot90(crop, 2)
    h, w = crop.shape[:2]
    dark = np.argwhere(crop[:, :, 0] < 128)
    assert 0.2 * w <= dark[:, 1].min() and dark[:, 1].max() <= 0.8 * w
    assert dark[:, 0].max() <= 0.55 * h
