"""ocrcore: the PP-OCR pipeline (detect, orient, recognise) on onnxruntime.

Pure Python + onnxruntime; no web, queue or storage imports.
"""
from .decode import decode_image
from .engine import OcrEngine, PipelineConfig
from .errors import ImageDecodeError, ImageTooLargeError, ModelFileError, OcrError, UnknownModelError
from .registry import DEFAULT_MODEL, MODEL_SETS
from .types import OcrOptions, OcrResult, TextLine

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
