"""Text detection alone: the input scale rule and the quads it returns."""
import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrcore.det import DetConfig, detect, order_clockwise
from tests.core.textimages import LINES, text_image

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


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


@pytest.mark.parametrize("size, blur", [(14, 1.0), (18, 1.5)])
def test_lone_faint_digits_are_kept(det_model, size, blur):
    """A receipt's quantity column: single blurred grey digits, far from other text. Their
    candidates are a few map pixels wide, so scoring them by their bounding rectangle (half
    background) dropped most of them; their own outline keeps all six."""
    image = Image.new("L", (1080, 300), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, size)
    digits = [(300, 20 + row * 40) for row in range(6)]
    for x, y in digits:
        draw.text((x, y), "1", font=font, fill=110)
    gray = cv2.GaussianBlur(np.asarray(image, dtype=np.float32), (0, 0), blur).astype(np.uint8)
    quads = detect(det_model, np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2)), DetConfig()).quads

    def covered(x: int, y: int) -> bool:
        return any(q[:, 0].min() <= x + 3 <= q[:, 0].max() and q[:, 1].min() <= y + size / 2 <= q[:, 1].max()
                   for q in quads)

    assert all(covered(x, y) for x, y in digits)
