"""Bytes as users send them -> one BGR uint8 image, upright as the camera saw it."""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from . import limits
from .errors import ImageDecodeError, ImageTooLargeError

SUPPORTED_FORMATS = frozenset(name for names in limits.IMAGE_FORMATS.values() for name in names)
DEFAULT_MAX_PIXELS = limits.MAX_IMAGE_PIXELS


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode the first frame, apply EXIF orientation, flatten alpha on white; return BGR uint8."""
    if not data:
        raise ImageDecodeError("empty input: no image bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in SUPPORTED_FORMATS:
                raise ImageDecodeError(f"unsupported image format {image.format}")
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLargeError(
                    f"image is {width}x{height} = {width * height} pixels; the limit is {max_pixels}"
                )
            image.seek(0)
            image.load()
            return _to_bgr(ImageOps.exif_transpose(image))
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"image has too many pixels: {exc}") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageDecodeError(f"not a decodable image: {exc}") from exc


def _to_bgr(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        image = _high_depth_to_l(image)
        mode = "L"
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(canvas, rgba).convert("RGB")
    elif mode != "RGB":
        image = image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    rgb = np.asarray(image, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    """16-bit / 32-bit grey -> 8-bit, stretched by the type's range, not clipped."""
    values = np.asarray(image)
    if values.dtype.kind == "f":
        lo, hi = float(values.min()), float(values.max())
        scaled = (values - lo) / (hi - lo or 1.0) * 255.0
    else:
        top = 65535.0 if values.max() <= 65535 else float(values.max())
        scaled = values.astype(np.float64) * (255.0 / top)
    return Image.fromarray(np.clip(scaled + 0.5, 0, 255).astype(np.uint8), mode="L")
