"""Inference backends: OpenVINO (f32 and bf16) reads the same lines as onnxruntime; outputs agree
within each precision's tolerance; time-limit signals during OpenVINO inference are survived;
the setting selects one."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ocrcore import OcrEngine, OcrOptions
from ocrcore.session import OrtModel, OvModel, load_model, native_bf16, resolve_backend
from tests.core.signal_probe import ROUNDS
from tests.core.textimages import encode, text_image

pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def ort_engine() -> OcrEngine:
    return OcrEngine(threads=2, backend="onnxruntime")


@pytest.fixture(scope="module", params=["openvino", "openvino-bf16"])
def ov_engine(request) -> OcrEngine:
    return OcrEngine(threads=2, backend=request.param)


@pytest.mark.parametrize("model", ["ppocrv6-small", "ppocrv5-mobile"])
def test_openvino_reads_the_same_lines_as_onnxruntime(ort_engine, ov_engine, model):
    data = encode(text_image(), "PNG")
    ort_result = ort_engine.run(data, OcrOptions(model=model))
    ov_result = ov_engine.run(data, OcrOptions(model=model))
    assert [line.text for line in ov_result.lines] == [line.text for line in ort_result.lines]
    for a, b in zip(ov_result.lines, ort_result.lines):
        assert np.abs(np.array(a.bounding_box) - np.array(b.bounding_box)).max() <= 2
        # OpenVINO's inputs are padded to shape buckets (session.py): a line read in a wider
        # batch moved its confidence by 0.025 (0.9746 -> 0.9993) in f32 and bf16 alike (f32
        # unpadded matches onnxruntime to 1e-4), same text and boxes.
        assert abs(a.confidence - b.confidence) < 0.05


# Largest difference from onnxruntime's outputs on random input (probabilities, 0..1):
# measured 1e-5 in f32; bf16 moved them by up to 0.08 on a page (its accuracy is judged on
# sroie-dev and the document pages instead, docs/PERFORMANCE.md).
TOLERANCE = {"openvino": 2e-3, "openvino-bf16": 0.15}


@pytest.mark.parametrize("backend", list(TOLERANCE))
@pytest.mark.parametrize("role", ["det", "rec"])
def test_openvino_outputs_match_onnxruntime(ort_engine, backend, role):
    ort_model = getattr(ort_engine._models("ppocrv6-small"), role)
    assert isinstance(ort_model, OrtModel)
    ov_model = load_model(backend, ort_model.path, 2, arena=role == "det")
    assert isinstance(ov_model, OvModel)
    assert ov_model.precision == ("f32" if backend == "openvino" else ov_model.precision)
    shapes = {"det": [(1, 3, 96, 160), (1, 3, 128, 64), (1, 3, 96, 160)],  # a new shape, and back
              "rec": [(4, 3, 48, 320), (1, 3, 48, 96), (4, 3, 48, 320)]}[role]
    rng = np.random.default_rng(0)
    for shape in shapes:
        batch = rng.uniform(-1, 1, shape).astype(np.float32)
        assert np.abs(ov_model(batch) - ort_model(batch)).max() < TOLERANCE[backend]


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


def test_auto_is_openvino_bf16_only_where_the_cpu_computes_bf16():
    expected = "openvino-bf16" if native_bf16() else "onnxruntime"
    assert resolve_backend("auto") == expected
    assert OcrEngine(threads=1).backend == expected  # the default, named as what runs
    assert resolve_backend("onnxruntime") == "onnxruntime"

