"""The 0/180 classifier on long lines, where squeezing them to 192x48 used to misfire."""
import numpy as np
import pytest

from ocrcore.cls import ClsConfig, orient
from tests.core.textimages import text_image

LONG_LINES = [
    "code receipt 7120.47 6892.37 period service code received 8713.22",
    "payment 7629.99 due reference price invoice charge customer account",
]


@pytest.fixture(scope="module")
def cls_model(engine):
    return engine._models(engine.default_model).cls


@pytest.mark.parametrize("line", LONG_LINES)
def test_long_upright_line_is_left_alone_and_flipped_line_is_turned(cls_model, line):
    crop = np.ascontiguousarray(np.asarray(text_image([line], size=26))[:, :, ::-1])
    ink_rows = np.flatnonzero(crop.min(axis=(1, 2)) < 128)
    crop = crop[ink_rows[0] - 3 : ink_rows[-1] + 4]  # a tight line crop, like detection gives
    assert crop.shape[1] / crop.shape[0] > 20
    upright, upside_down = [crop.copy()], [np.ascontiguousarray(crop[::-1, ::-1])]
    assert orient(cls_model, upright, ClsConfig()) == [False]
    assert orient(cls_model, upside_down, ClsConfig()) == [True]
    assert np.array_equal(upside_down[0], crop)
