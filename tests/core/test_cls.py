"""The 0/180 classifier on long lines, where squeezing them to 192x48 used to misfire."""
import numpy as np
import pytest

from ocrcore.cls import ClsConfig, orient
from ocrcore.crop import crop_quad
from ocrcore.decode import decode_image
from ocrcore.det import detect
from tests.core.textimages import text_image
from tests.sroie import SROIE

LONG_LINES = [
    "code receipt 7120.47 6892.37 period service code received 8713.22",
    "payment 7629.99 due reference price invoice charge customer account",
]


@pytest.fixture(scope="module")
def cls_model(engine):
    return engine._models(engine.default_model).cls


def _line_crop(text: str) -> np.ndarray:
    """One rendered line, cropped tight around its ink like detection gives (BGR)."""
    crop = np.ascontiguousarray(np.asarray(text_image([text], size=26))[:, :, ::-1])
    ink_rows = np.flatnonzero(crop.min(axis=(1, 2)) < 128)
    return np.ascontiguousarray(crop[ink_rows[0] - 3 : ink_rows[-1] + 4])


@pytest.mark.parametrize("line", LONG_LINES)
def test_long_upright_line_is_left_alone_and_flipped_line_is_turned(cls_model, line):
    crop = _line_crop(line)
    assert crop.shape[1] / crop.shape[0] > 20
    upright, upside_down = [crop.copy()], [np.ascontiguousarray(crop[::-1, ::-1])]
    assert orient(cls_model, upright, ClsConfig()) == [False]
    assert orient(cls_model, upside_down, ClsConfig()) == [True]
    assert np.array_equal(upside_down[0], crop)


def _receipt_crops(engine, stem: str) -> list[np.ndarray]:
    models = engine._models(engine.default_model)
    image = decode_image((SROIE / "img" / f"{stem}.jpg").read_bytes())
    return [crop_quad(image, quad) for quad in detect(models.det, image, engine.config.det).quads]


@pytest.mark.parametrize("stem", ["046", "050"])
def test_short_lines_of_an_upright_receipt_follow_the_page(engine, cls_model, stem):
    # Read alone, a few short crops of these receipts (prices, "Qty") score 180 above the
    # threshold and used to be turned into garbage.
    crops = _receipt_crops(engine, stem)
    assert not any(orient(cls_model, crops, ClsConfig()))


@pytest.mark.parametrize("stem", ["046", "050"])
def test_every_line_of_a_receipt_turned_180_is_turned_back(engine, cls_model, stem):
    crops = [np.ascontiguousarray(c[::-1, ::-1]) for c in _receipt_crops(engine, stem)]
    assert all(orient(cls_model, crops, ClsConfig()))


def test_a_page_without_a_clear_orientation_leaves_each_line_to_itself(cls_model):
    # Two upright lines and one upside-down line: the page vote is unclear, so the
    # flipped line is turned on its own evidence and the others are left alone.
    upright = [_line_crop(line) for line in LONG_LINES]
    flipped = np.ascontiguousarray(_line_crop("invoice total 4821.30 thank you come again soon")[::-1, ::-1])
    assert orient(cls_model, [*upright, flipped], ClsConfig()) == [False, False, True]
