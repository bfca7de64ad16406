"""Shape buckets: a bucketed model (OpenVINO) sees a bounded set of input shapes and reads
what the exact shapes read; onnxruntime's inputs are never padded."""
import numpy as np
import pytest

from ocrcore import OcrEngine
from ocrcore.cls import ClsConfig, orient
from ocrcore.det import DetConfig, detect
from ocrcore.rec import RecConfig, recognize
from ocrcore.session import DET_SIDE_MULTIPLE, REC_WIDTH_RATIO, OrtModel, bucket_width, padded_rows
from tests.core.textimages import LINES, text_image


class Recording:
    """A model wrapper that records input shapes and can be told to bucket or not."""

    def __init__(self, model, shape_buckets: bool):
        self.model = model
        self.shape_buckets = shape_buckets
        self.lanes = model.lanes
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, batch, lane=0):
        self.shapes.append(batch.shape)
        return self.model(batch, lane)


@pytest.fixture(scope="module")
def ort_models():
    return OcrEngine(threads=2, backend="onnxruntime")._models("ppocrv6-small")


def test_bucket_widths_cover_the_width_in_whole_steps_a_few_per_doubling():
    buckets = {bucket_width(w, 32, 8) for w in range(1, 2049)}
    per_doubling = round(1 / np.log2(REC_WIDTH_RATIO))
    assert len(buckets) <= per_doubling * 6 + 2  # 32 -> 2048 is six doublings
    for width in range(1, 3000, 7):
        bucket = bucket_width(width, 32, 8)
        assert bucket >= max(width, 32) and bucket % 8 == 0
        assert bucket <= max(32, width) * REC_WIDTH_RATIO + 8  # never more than one ratio step of padding
    assert [padded_rows(n) for n in range(1, 17)] == [1, 2, 4, 4, 8, 8, 8, 8] + [16] * 8


def test_onnxruntime_is_never_padded(ort_models):
    assert OrtModel.shape_buckets is False and ort_models.rec.shape_buckets is False
    rng = np.random.default_rng(1)
    crops = [rng.integers(0, 255, (30, w, 3), dtype=np.uint8) for w in (100, 130, 170)]
    rec = Recording(ort_models.rec, shape_buckets=False)
    recognize(rec, ["", *"abc", " "], crops, RecConfig())
    assert rec.shapes == [(3, 3, 48, 272)]  # 48 * 170 / 30 = 272: the batch's own width


@pytest.mark.parametrize("size", [(1000, 460), (100, 200), (700, 900)])
def test_detection_padded_to_buckets_keeps_scale_and_lines(ort_models, size):
    rgb = np.asarray(text_image())
    image = np.full((*size, 3), 255, dtype=np.uint8)
    h, w = min(size[0], rgb.shape[0]), min(size[1], rgb.shape[1])
    image[:h, :w] = rgb[:h, :w, ::-1]
    exact = detect(Recording(ort_models.det, False), image, DetConfig())
    model = Recording(ort_models.det, True)
    padded = detect(model, image, DetConfig())
    _, _, fed_h, fed_w = model.shapes[0]
    assert fed_h % DET_SIDE_MULTIPLE == 0 and fed_w % DET_SIDE_MULTIPLE == 0
    assert padded.input_shape == exact.input_shape  # same scale: only padding was added
    assert len(padded.quads) == len(exact.quads)
    for a, b in zip(padded.quads, exact.quads):
        assert np.abs(a - b).max() <= 3  # measured: at most 3 px on a raw detector corner


def test_recognition_padded_to_buckets_reads_the_same(ort_models):
    engine = OcrEngine(threads=2, backend="onnxruntime")
    charset = engine._models("ppocrv6-small").charset
    lines = [*LINES, "A", "Wide line of text with many words in it 0123456789"]
    # each line rendered alone, cut to its text height (the margins a detector box would leave)
    crops = [np.ascontiguousarray(np.asarray(text_image((line,)))[22:62, 20:-20, ::-1]) for line in lines]
    exact = recognize(Recording(ort_models.rec, False), charset, crops, RecConfig())
    model = Recording(ort_models.rec, True)
    padded = recognize(model, charset, crops, RecConfig())
    for rows, _, _, width in model.shapes:
        assert rows in (1, 2, 4) and width == bucket_width(width, 32, 8)
    assert [r.text for r in padded] == [r.text for r in exact] == lines
    for a, b in zip(padded, exact):
        assert abs(a.confidence - b.confidence) < 0.02
        assert [w[0] for w in a.words] == [w[0] for w in b.words]
        # word boxes (fractions of the crop): CTC positions land on the same frames
        assert np.abs(np.array([w[1:] for w in a.words]) - np.array([w[1:] for w in b.words])).max() < 0.02


def test_classifier_padded_batches_give_the_same_calls(ort_models):
    rgb = np.ascontiguousarray(np.asarray(text_image())[:, :, ::-1])
    crops = [rgb[10:80, :], rgb[60:140, :200], np.rot90(rgb, 2)[20:90, :]]
    exact = orient(Recording(ort_models.cls, False), [c.copy() for c in crops], ClsConfig(batch_size=16))
    model = Recording(ort_models.cls, True)
    padded = orient(model, [c.copy() for c in crops], ClsConfig(batch_size=16))
    assert padded == exact
    assert all(shape[0] in (1, 2, 4, 8, 16) for shape in model.shapes)
