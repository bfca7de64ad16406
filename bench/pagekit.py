"""What the page benchmarks share: A4 at 150 dpi, the fonts, line wrapping and mild scan damage.

bench/documents.py (plain text pages) and bench/layout.py (columns, headings, lists, tables)
render their pages with these, so both see the same kind of page image.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter, ImageFont

PAGE = (1240, 1754)  # A4 at 150 dpi, in pixels
DPI = 150
MARGIN = 110
FONT_DIR = "/usr/share/fonts"
FONTS = {
    "en": (f"{FONT_DIR}/truetype/dejavu/DejaVuSans.ttf", f"{FONT_DIR}/truetype/dejavu/DejaVuSerif.ttf"),
    "zh": (f"{FONT_DIR}/opentype/noto/NotoSansCJK-Regular.ttc", f"{FONT_DIR}/opentype/noto/NotoSerifCJK-Regular.ttc"),
}
BOLD_FONTS = {
    "en": (f"{FONT_DIR}/truetype/dejavu/DejaVuSans-Bold.ttf", f"{FONT_DIR}/truetype/dejavu/DejaVuSerif-Bold.ttf"),
    "zh": (f"{FONT_DIR}/opentype/noto/NotoSansCJK-Bold.ttc", f"{FONT_DIR}/opentype/noto/NotoSerifCJK-Bold.ttc"),
}


def wrap(paragraph: str, font: ImageFont.FreeTypeFont, width: float, lang: str, indent: float = 0.0) -> list[str]:
    """Greedy wrapping: by words for English, by characters for Chinese; the first line is
    `indent` narrower."""
    units = paragraph.split(" ") if lang == "en" else list(paragraph)
    joiner = " " if lang == "en" else ""
    lines, current, room = [], "", width - indent
    for unit in units:
        candidate = current + joiner + unit if current else unit
        if current and font.getlength(candidate) > room:
            lines.append(current)
            current, room = unit, width
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def draw_skew(rng: np.random.Generator) -> float:
    """scan_damage's skew, in degrees counter-clockwise about the page centre (PIL's rotate)."""
    return float(rng.uniform(-1.0, 1.0))


def scan_damage(image: Image.Image, rng: np.random.Generator, skew: float | None = None) -> bytes:
    """A clean greyscale page -> JPEG bytes of a mild scan: a skew of at most 1 degree (drawn
    here unless given, from draw_skew), a slight blur, grey-level noise, JPEG quality 75-89."""
    image = image.rotate(draw_skew(rng) if skew is None else skew, resample=Image.BICUBIC, fillcolor=255)
    image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 0.8))))
    pixels = np.asarray(image, dtype=np.float32) + rng.normal(0, 6, (image.height, image.width))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(75, 90)))
    return buffer.getvalue()
