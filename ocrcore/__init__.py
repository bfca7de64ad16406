"""ocrcore: the PP-OCR pipeline (detect, orient, recognise) on onnxruntime.

Pure Python + onnxruntime; no web, queue or storage imports. Names are imported on first
use, so `import ocrcore.limits` (or formats, registry, document) loads no onnxruntime or
OpenCV: the gateway reads those modules and never runs the engine.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .decode import decode_image
    from .engine import OcrEngine, PipelineConfig
    from .errors import ImageDecodeError, ImageTooLargeError, ModelFileError, OcrError, UnknownModelError
    from .registry import DEFAULT_MODEL, MODEL_SETS
    from .types import OcrOptions, OcrResult, TextLine

_LAZY = {
    "decode_image": "decode",
    "OcrEngine": "engine",
    "PipelineConfig": "engine",
    "ImageDecodeError": "errors",
    "ImageTooLargeError": "errors",
    "ModelFileError": "errors",
    "OcrError": "errors",
    "UnknownModelError": "errors",
    "DEFAULT_MODEL": "registry",
    "MODEL_SETS": "registry",
    "OcrOptions": "types",
    "OcrResult": "types",
    "TextLine": "types",
}

__all__ = [
    "DEFAULT_MODEL",
    "MODEL_SETS",
    "ImageDecodeError",
    "ImageTooLargeError",
    "ModelFileError",
    "OcrEngine",
    "OcrError",
    "OcrOptions",
    "OcrResult",
    "PipelineConfig",
    "TextLine",
    "UnknownModelError",
    "decode_image",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ocrcore' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value
