"""Installed model sets and the manifest that vouches for their files.

Light on purpose (no onnxruntime import): the gateway imports it to validate model names.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelFileError, UnknownModelError

MODELS_DIR_ENV = "OCRCORE_MODELS_DIR"
_REPO_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"

# The 0/180 line classifier both sets share (PP-OCR mobile v2.0 cls: 48x192 input, fast).
_CLS = "ppocrv5-mobile/ch_ppocr_mobile_v2.0_cls.onnx"


@dataclass(frozen=True)
class ModelSet:
    name: str
    det: str
    rec: str
    dictionary: str
    cls: str = _CLS


_SETS = (
    ModelSet(
        name="ppocrv6-small",
        det="ppocrv6-small/ppocrv6_small_det.onnx",
        rec="ppocrv6-small/ppocrv6_small_rec.onnx",
        dictionary="ppocrv6-small/ppocrv6_dict.txt",
    ),
    ModelSet(
        name="ppocrv5-mobile",
        det="ppocrv5-mobile/ppocrv5_mobile_det.onnx",
        rec="ppocrv5-mobile/ppocrv5_mobile_rec.onnx",
        dictionary="ppocrv5-mobile/ppocrv5_dict.txt",
    ),
)
MODEL_SETS: tuple[str, ...] = tuple(s.name for s in _SETS)
# Chosen by bench/sroie.py: the most accurate set within 20% of the fastest (docs/PERFORMANCE.md).
DEFAULT_MODEL = "ppocrv6-small"


def get_model_set(name: str | None) -> ModelSet:
    name = name or DEFAULT_MODEL
    for model_set in _SETS:
        if model_set.name == name:
            return model_set
    raise UnknownModelError(f"unknown model set {name!r}; installed: {', '.join(MODEL_SETS)}")


def models_dir() -> Path:
    return Path(os.environ.get(MODELS_DIR_ENV) or _REPO_MODELS_DIR)


def read_manifest(root: Path) -> dict[str, tuple[int, str]]:
    """Map relative path -> (bytes, sha256) from MANIFEST.txt."""
    manifest = root / "MANIFEST.txt"
    if not manifest.is_file():
        raise ModelFileError(f"model manifest missing: {manifest}")
    entries: dict[str, tuple[int, str]] = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("|")]
        entries[fields[0]] = (int(fields[1]), fields[2].lower())
    return entries


def verified_path(root: Path, relative: str, manifest: dict[str, tuple[int, str]]) -> Path:
    """Return the file's path after checking it exists and matches the manifest's sha256."""
    path = root / relative
    if relative not in manifest:
        raise ModelFileError(f"model file {relative} is not listed in {root / 'MANIFEST.txt'}")
    if not path.is_file():
        raise ModelFileError(f"model file missing: {path}")
    size, expected = manifest[relative]
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if path.stat().st_size != size or digest.hexdigest() != expected:
        raise ModelFileError(
            f"model file corrupt: {path} (sha256 {digest.hexdigest()}, manifest says {expected})"
        )
    return path
