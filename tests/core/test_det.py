"""Text detection alone: the input scale rule and the quads it returns."""
import numpy as np
import pytest

from ocrcore.det import DetConfig, detect, order_clockwise
from tests.core.textimages import LINES, text_image


@pytest.fixture(scope="module")
def det_model(engine):
    return engine._models(engine.default_model).det


@pytest.mark.parametrize(
    "size, expected",
    [
        ((1000, 460), (1600, 736)),  # a narrow receipt: short side up to 736
        ((100, 200), (192, 384)),  # a small image: at most 2x up
        ((3000, 4000), (1536, 2048)),  # a photo: long side down to 2048
    ],
)
def test_input_scale_rule(det_model, size, expected):
    blank = np.full((*size, 3), 255, dtype=np.uint8)
    detection = detect(det_model, blank, DetConfig())
    assert detection.input_shape == expected
    assert detection.quads == []


def test_one_clockwise_quad_per_rendered_line(det_model):
    rgb = np.asarray(text_image())
    detection = detect(det_model, np.ascontiguousarray(rgb[:, :, ::-1]), DetConfig())
    assert len(detection.quads) == len(LINES)
    for quad in detection.quads:
        assert quad.shape == (4, 2)
        assert np.array_equal(order_clockwise(quad), quad)
        assert quad[1, 0] > quad[0, 0] and quad[3, 1] > quad[0, 1]  # wide, left to right, top down
        # Whole pixels, so the crop read is exactly the box reported.
        assert np.array_equal(quad, np.round(quad))
