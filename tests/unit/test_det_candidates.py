"""The detector keeps every text outline of a dense page, not the bottom 1000 of them."""
from __future__ import annotations

import numpy as np

from ocrcore.det import DetConfig, _quads_from_map


def test_a_dense_page_keeps_its_top_lines():
    prob = np.zeros((1200, 1600), np.float32)
    for r in range(60):  # 60 rows x 25 columns of figures: 1500 outlines
        for c in range(25):
            prob[10 + 20 * r: 18 + 20 * r, 10 + 60 * c: 50 + 60 * c] = 0.9
    quads = _quads_from_map(prob, 1600, 1200, DetConfig())
    assert len(quads) == 1500
    assert min(float(q[:, 1].min()) for q in quads) < 20  # the first row is there
