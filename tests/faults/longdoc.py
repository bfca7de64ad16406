"""The long document the fault tests break things under: a scanned PDF of PAGES receipts, each
page labelled with its number, so a result shows that every page is there once and in order.

A receipt page takes about a second of OCR on one core: PAGES of them keep a fanned-out job in
flight for ten seconds or more on this box, long enough to inject a fault in its middle.
"""
from __future__ import annotations

import re
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from tests.conftest import FONT
from tests.sroie import RECEIPT

PAGES = 20
LABEL = re.compile(r"PAGE\s*[-:]?\s*(\d{1,2})\s*END")


@lru_cache(maxsize=2)
def labelled_pdf(pages: int = PAGES) -> bytes:
    """A scanned-only PDF: page n is the receipt under a white band reading "PAGE n END"."""
    from tests.core.pdfmaker import image_pdf

    receipt = Image.open(RECEIPT).convert("RGB")
    font = ImageFont.truetype(FONT, max(40, receipt.width // 14))
    images = []
    for number in range(1, pages + 1):
        page = receipt.copy()
        draw = ImageDraw.Draw(page)
        band = font.size * 2
        draw.rectangle([0, 0, page.width, band], fill="white")
        draw.text((font.size, font.size // 2), f"PAGE {number} END", fill="black", font=font)
        images.append(page)
    return image_pdf(images, resolution=200)


def page_labels(body: dict) -> list[int | None]:
    """The label read on each page of a job's JSON result, in result order (None if unread)."""
    labels: list[int | None] = []
    for page in body["result"]["pages"]:
        text = " ".join(line["text"] for line in page["results"])
        found = LABEL.search(text.upper())
        labels.append(int(found.group(1)) if found else None)
    return labels


def reads_per_page(logs: str, job_id: str, pages: int = PAGES) -> list[int]:
    """How many times each page was recorded as read, from the workers' "part n/P (page n) read" lines."""
    reads = [int(n) for n in re.findall(rf"job {job_id} part (\d+)/{pages} \(page \d+\) read on", logs)]
    return [reads.count(n) for n in range(1, pages + 1)]
