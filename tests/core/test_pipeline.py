"""The whole pipeline on real rendered text, with both model sets."""
import numpy as np
import pytest
from PIL import Image

from ocrcore import MODEL_SETS, OcrEngine, OcrOptions, PipelineConfig, UnknownModelError
from tests.core.textimages import LINES, encode, text_image, words_of

EXPECTED = {word for line in LINES for word in line.split()}


@pytest.mark.parametrize("model", MODEL_SETS)
def test_reads_rendered_text_with_each_model_set(engine, model):
    result = engine.run(encode(text_image(), "PNG"), OcrOptions(model=model))
    assert result.model == model
    found = words_of(result)
    assert len(EXPECTED & found) >= len(EXPECTED) - 1, found
    assert set(result.timings) == {"decode", "det", "cls", "rec"}


def test_lines_come_in_reading_order_with_boxes_in_image_pixels(engine):
    image = text_image()
    result = engine.run(encode(image, "PNG"))
    assert [line.text.split()[0].upper() for line in result.lines] == [line.split()[0] for line in LINES]
    tops = [min(y for _, y in line.bounding_box) for line in result.lines]
    assert tops == sorted(tops)
    for line in result.lines:
        assert len(line.bounding_box) == 4
        for x, y in line.bounding_box:
            assert 0 <= x < image.width and 0 <= y < image.height
        assert 0.5 <= line.confidence <= 1.0
    # The first line starts where it was drawn: at x = font size, y ~= font size.
    (x0, y0) = result.lines[0].bounding_box[0]
    assert abs(x0 - 28) < 12 and abs(y0 - 28) < 14


def test_upside_down_page_is_read_with_the_orientation_classifier(engine):
    flipped = text_image().rotate(180)
    found = words_of(engine.run(encode(flipped, "PNG"), OcrOptions(use_angle_cls=True)))
    assert len(EXPECTED & found) >= len(EXPECTED) - 1, found


def test_without_the_classifier_upside_down_text_is_not_read(engine):
    flipped = text_image().rotate(180)
    found = words_of(engine.run(encode(flipped, "PNG"), OcrOptions(use_angle_cls=False)))
    assert len(EXPECTED & found) <= 2, found


def test_accepts_a_bgr_array(engine):
    rgb = np.asarray(text_image())
    found = words_of(engine.run(np.ascontiguousarray(rgb[:, :, ::-1])))
    assert "INVOICE" in found


def test_blank_image_gives_no_lines(engine):
    result = engine.run(encode(Image.new("RGB", (320, 200), "white"), "PNG"))
    assert result.lines == []
    assert result.to_dict()["results"] == []


def test_response_shape_is_the_public_contract(engine):
    body = engine.run(encode(text_image(), "JPEG")).to_dict()
    assert set(body) == {"processing_time", "results"}
    assert isinstance(body["processing_time"], float)
    line = body["results"][0]
    assert set(line) == {"text", "confidence", "bounding_box"}
    assert all(isinstance(v, int) for point in line["bounding_box"] for v in point)


def test_detection_side_limit_is_honoured_per_call(engine):
    # bounding_box is the detector's own box: it follows the detector's scale.
    data = encode(text_image(), "PNG")
    full = engine.run(data).lines
    coarse = engine.run(data, OcrOptions(det_limit_side=64)).lines
    # At 64 px the probability map is a few cells per line: boxes come back much looser.
    shift = max(
        abs(a - b)
        for f, c in zip(full, coarse)
        for pf, pc in zip(f.bounding_box, c.bounding_box)
        for a, b in zip(pf, pc)
    )
    assert shift > 8, (full, coarse)


def test_reported_boxes_fit_the_ink_whatever_the_detection_scale(engine):
    data = encode(text_image(), "PNG")
    full = engine.run(data).lines
    coarse = engine.run(data, OcrOptions(det_limit_side=64)).lines
    assert [line.text for line in coarse] == [line.text for line in full] == list(LINES)
    for f, c in zip(full, coarse):
        assert np.abs(np.array(f.placement_box) - np.array(c.placement_box)).max() <= 3, (f, c)


def test_line_ink_boxes_fit_the_rendered_text(engine):
    # text_image() draws 28 px DejaVu capitals: ink about 21 px high (cap height plus
    # anti-aliasing), where the detector's box has margins of several pixels.
    image = text_image()
    ink = np.asarray(image.convert("L")) < 128
    for line in engine.run(encode(image, "PNG")).lines:
        assert line.ink_box is not None, line
        xs = [p[0] for p in line.ink_box]
        ys = [p[1] for p in line.ink_box]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        rows = np.flatnonzero(ink[:, x0:x1].any(axis=1))
        rows = rows[(rows >= y0 - 12) & (rows <= y1 + 12)]
        cols = np.flatnonzero(ink[y0:y1].any(axis=0))
        assert abs(rows[0] - y0) <= 2 and abs(rows[-1] + 1 - y1) <= 2, (line, rows[0], rows[-1])
        assert abs(cols[0] - x0) <= 2 and abs(cols[-1] + 1 - x1) <= 2, (line, cols[0], cols[-1])


def test_bounding_boxes_are_the_detectors_with_margins_around_the_ink(engine):
    # PaddleOCR's convention: bounding_box is DB's expanded box, which holds the ink box with
    # a margin on every side (unclip grows the kernel by area * 1.6 / perimeter, several px
    # for 28 px text); the ink box alone is what layout and placement use.
    image = text_image()
    lines = engine.run(encode(image, "PNG")).lines
    no_ink = OcrEngine(threads=2, config=PipelineConfig(ink_boxes=False)).run(encode(image, "PNG")).lines
    assert [line.bounding_box for line in lines] == [line.bounding_box for line in no_ink]
    assert all(line.ink_box is None for line in no_ink)
    for line in lines:
        outer, inner = np.array(line.bounding_box), np.array(line.ink_box)
        assert outer[:, 1].min() <= inner[:, 1].min() - 2 and outer[:, 1].max() >= inner[:, 1].max() + 2, line
        assert outer[:, 0].min() <= inner[:, 0].min() and outer[:, 0].max() >= inner[:, 0].max(), line
        assert line.to_dict()["bounding_box"] == line.bounding_box


def test_unknown_model_set_is_refused(engine):
    with pytest.raises(UnknownModelError, match="no-such-model"):
        engine.run(encode(text_image(), "PNG"), OcrOptions(model="no-such-model"))
