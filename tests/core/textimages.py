"""Real text rendered with a real font, for pipeline tests."""
from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINES = ("INVOICE NUMBER 48213", "TOTAL AMOUNT 56.70", "THANK YOU COME AGAIN")


def text_image(lines=LINES, size: int = 28, mode: str = "RGB") -> Image.Image:
    font = ImageFont.truetype(FONT, size)
    width = max(int(font.getlength(line)) for line in lines) + 2 * size
    height = (len(lines) * 2 + 1) * size
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((size, size + 2 * i * size), line, fill="black", font=font)
    return image if mode == "RGB" else image.convert(mode)


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def words_of(result) -> set[str]:
    return {word for line in result.lines for word in line.text.upper().split()}
