"""Small valid files of every input format, drawn by Hypothesis: the seeds the fuzzers send
as they are (tests/fuzz/st_hooks.py, schemathesis) or mutate (tests/fuzz/test_decoders.py)."""
from __future__ import annotations

import io

from hypothesis import strategies as st
from PIL import Image

# Input kind (ocrcore.limits.INPUT_KINDS) -> how PIL writes it.
PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "bmp": "BMP", "tiff": "TIFF", "gif": "GIF", "pdf": "PDF"}
MEDIA_TYPES = {
    "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "bmp": "image/bmp",
    "tiff": "image/tiff", "gif": "image/gif", "pdf": "application/pdf",
}
MODES = {  # modes each writer takes
    "jpeg": ("L", "RGB", "CMYK"),
    "png": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"),
    "webp": ("RGB", "RGBA"),
    "bmp": ("1", "L", "P", "RGB"),
    "tiff": ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16"),
    "gif": ("L", "P"),
    "pdf": ("L", "RGB"),
}
TIFF_COMPRESSIONS = (None, "tiff_lzw", "tiff_adobe_deflate", "packbits")


@st.composite
def image_file(draw, kind: str, max_side: int = 48) -> bytes:
    """A small image of `kind` (or a one-page PDF made from one) with random pixels."""
    mode = draw(st.sampled_from(MODES[kind]))
    width = draw(st.integers(1, max_side))
    height = draw(st.integers(1, max_side))
    seed = draw(st.binary(min_size=1, max_size=64))
    pixels = (seed * (width * height * 5 // len(seed) + 1))
    base = Image.frombytes("L", (width, height), pixels[: width * height])
    image = base if mode == "L" else base.convert(mode)
    options: dict = {}
    if kind == "jpeg":
        options["quality"] = draw(st.integers(5, 95))
        options["progressive"] = draw(st.booleans())
    elif kind == "tiff":
        options["compression"] = draw(st.sampled_from(TIFF_COMPRESSIONS))
    elif kind == "webp":
        options["lossless"] = draw(st.booleans())
    elif kind == "pdf":
        options["resolution"] = draw(st.sampled_from((36.0, 72.0, 150.0)))
    buffer = io.BytesIO()
    image.save(buffer, format=PIL_FORMATS[kind], **options)
    return buffer.getvalue()
