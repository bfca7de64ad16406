"""Inference backends: OpenVINO reads the same lines as onnxruntime; the setting selects one."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ocrcore import OcrEngine, OcrOptions
from ocrcore.session import OrtModel, OvModel, load_model
from tests.core.signal_probe import ROUNDS
from tests.core.textimages import encode, text_image

pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def ov_engine() -> OcrEngine:
    return OcrEngine(threads=2, backend="openvino")


@pytest.mark.parametrize("model", ["ppocrv6-small", "ppocrv5-mobile"])
def test_openvino_reads_the_same_lines_as_onnxruntime(engine, ov_engine, model):
    data = encode(text_image(), "PNG")
    ort_result = engine.run(data, OcrOptions(model=model))
    ov_result = ov_engine.run(data, OcrOptions(model=model))
    assert [line.text for line in ov_result.lines] == [line.text for line in ort_result.lines]
    for a, b in zip(ov_result.lines, ort_result.lines):
        assert np.abs(np.array(a.bounding_box) - np.array(b.bounding_box)).max() <= 2
        assert abs(a.confidence - b.confidence) < 0.01


def test_openvino_outputs_match_onnxruntime_in_f32(engine):
    models = engine._models("ppocrv6-small")
    assert isinstance(models.det, OrtModel)
    ov_det = load_model("openvino", models.det.path, 2)
    assert isinstance(ov_det, OvModel)
    rng = np.random.default_rng(0)
    for shape in [(1, 3, 96, 160), (1, 3, 128, 64), (1, 3, 96, 160)]:  # a new shape, and back
        batch = rng.uniform(-1, 1, shape).astype(np.float32)
        assert np.abs(ov_det(batch) - models.det(batch)).max() < 2e-3  # bf16 would be ~0.08


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown OCR backend 'tensorrt'.*onnxruntime, openvino"):
        OcrEngine(backend="tensorrt")
    with pytest.raises(ValueError, match="unknown OCR backend"):
        load_model("tensorrt", Path(__file__), 1)


def test_the_setting_selects_the_backend(monkeypatch):
    from jobs import settings as settings_module
    from worker import child

    monkeypatch.setenv("OCR_BACKEND", "openvino")
    settings_module.get_settings.cache_clear()
    monkeypatch.setattr(child, "_engine", None)
    try:
        assert child.engine().backend == "openvino"
        monkeypatch.setenv("OCR_BACKEND", "tensorrt")
        settings_module.get_settings.cache_clear()
        with pytest.raises(ValueError, match="onnxruntime"):
            settings_module.get_settings()
    finally:
        settings_module.get_settings.cache_clear()


@pytest.mark.parametrize("backend", ["openvino", "onnxruntime"])
def test_time_limit_signals_during_inference_are_taken_not_fatal(backend):
    """Page time limits and Celery soft time limits fire 20 times each during runs, after
    engines were released in the order they were made (which left OpenVINO's signal stack
    unmapped when each model had a Core of its own: SIGSEGV on the next signal)."""
    repo = Path(__file__).resolve().parents[2]
    probe = subprocess.run([sys.executable, "-m", "tests.core.signal_probe", backend], cwd=repo,
                           capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, f"probe died with {probe.returncode}: {probe.stderr[-2000:]}"
    counts = json.loads(probe.stdout.strip().splitlines()[-1])
    assert counts["stack_usable_after_release"] and counts["limit_after_release"]
    assert counts["page_limit_hits"] == ROUNDS and counts["soft_limit_hits"] == ROUNDS
    assert counts["lines"] == counts["lines_after"] == 12
