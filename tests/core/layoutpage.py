"""A rendered two-column page with the structures the layout must find, for tests that run
real OCR on it (tests/core) or send it over HTTP (tests/service).

A4 at 150 dpi: a running header and a page number, a bold title across both columns, a
numbered heading and two paragraphs in the left column, two paragraphs and a bulleted list
in the right, then a ruled table across the page with a header row and an empty cell. Each
paragraph opens with its own code word, so the order the paragraphs are read in shows in
any output format.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
SERIF_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"
SIZE = (1240, 1754)
TITLE = "Notes on Reading Order"
HEADING = "1 Introduction"
HEADER = "Field Journal of Layout, Vol. 9"
FOOTER = "Page 4"
# Code words open the paragraphs: left column ALPHA, BRAVO; right column CHARLIE, DELTA.
PARAGRAPHS = [
    "ALPHA opens the left column with a paragraph that is long enough to wrap over several lines "
    "of text in a narrow column of a printed page.",
    "BRAVO follows it in the same column and says a little more about the way a person reads a page "
    "from top to bottom before moving right.",
    "CHARLIE starts the right column at the same height as the first paragraph on the left, so a "
    "plain sort from top to bottom would mix the two.",
    "DELTA ends the text of the right column and comes just before a short list of points.",
]
BULLETS = ["first point of the list", "second point of the list"]
TABLE = [["Region", "Units", "Revenue"], ["North", "120", "4300"], ["South", "", "2150"], ["East", "75", "980"]]


@dataclass(frozen=True)
class LayoutPage:
    image: Image.Image

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, "PNG")
        return buffer.getvalue()


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and draw.textlength(candidate, font=font) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return lines + [current]


def two_column_page() -> LayoutPage:
    image = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(image)
    body = ImageFont.truetype(SERIF, 22)
    small = ImageFont.truetype(SERIF, 16)
    draw.text((110, 50), HEADER, font=small, fill="black")
    draw.text((600, 1690), FOOTER, font=small, fill="black")
    draw.text((320, 110), TITLE, font=ImageFont.truetype(SERIF_BOLD, 40), fill="black")
    columns = [(110, 590), (650, 1130)]
    for side, (x0, x1) in enumerate(columns):
        y = 210
        if side == 0:
            draw.text((x0, y), HEADING, font=ImageFont.truetype(SERIF_BOLD, 28), fill="black")
            y += 56
        for paragraph in PARAGRAPHS[2 * side: 2 * side + 2]:
            for text in _wrap(draw, paragraph, body, x1 - x0):
                draw.text((x0, y), text, font=body, fill="black")
                y += 32
            y += 28
        if side == 1:
            for bullet in BULLETS:
                draw.text((x0, y), "•  " + bullet, font=body, fill="black")
                y += 36
    top, xs, row_height = 1100, [110, 500, 800, 1130], 48
    for r in range(len(TABLE) + 1):
        draw.line([(xs[0], top + r * row_height), (xs[-1], top + r * row_height)], fill="black", width=2)
    for x in xs:
        draw.line([(x, top), (x, top + len(TABLE) * row_height)], fill="black", width=2)
    for r, row in enumerate(TABLE):
        for c, cell in enumerate(row):
            if cell:
                draw.text((xs[c] + 12, top + r * row_height + 10), cell, font=body, fill="black")
    return LayoutPage(image)
