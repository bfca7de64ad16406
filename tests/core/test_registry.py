"""Model files are verified against the manifest before a session is built."""
import shutil

import pytest

from ocrcore import MODEL_SETS, ModelFileError, OcrEngine, OcrOptions
from ocrcore.registry import models_dir, read_manifest
from tests.core.textimages import encode, text_image


@pytest.fixture
def model_copy(tmp_path):
    root = tmp_path / "models"
    shutil.copytree(models_dir(), root)
    return root


def test_every_set_is_listed_in_the_manifest():
    manifest = read_manifest(models_dir())
    for relative in manifest:
        assert (models_dir() / relative).is_file()
    assert set(MODEL_SETS) == {"ppocrv6-small", "ppocrv5-mobile"}


def test_missing_file_is_named(model_copy):
    (model_copy / "ppocrv6-small" / "ppocrv6_small_rec.onnx").unlink()
    engine = OcrEngine(models_dir=model_copy, default_model="ppocrv6-small")
    with pytest.raises(ModelFileError, match="missing: .*ppocrv6_small_rec.onnx"):
        engine.warmup()


def test_corrupt_file_is_named(model_copy):
    path = model_copy / "ppocrv5-mobile" / "ppocrv5_mobile_det.onnx"
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    engine = OcrEngine(models_dir=model_copy)
    with pytest.raises(ModelFileError, match="corrupt: .*ppocrv5_mobile_det.onnx"):
        engine.run(encode(text_image(), "PNG"), OcrOptions(model="ppocrv5-mobile"))
