"""The long document the fault tests break things under: a scanned PDF (no text layer) of PAGES
pages of a few text lines, each labelled with its number, so a result shows that every page
is there once and in order.

Small pages on purpose: one takes 0.5 to 1.0 s in a default worker child here (a receipt page
took 8 to 10 s beside the other stacks on this shared box), so the document stays in flight
over two children for 6 to 12 s after a fault injected once 4 pages are read, and the four
runs cost about a minute instead of six.
"""
from __future__ import annotations

import io
import re
from functools import lru_cache

from PIL import Image

PAGES = 20
LABEL = re.compile(r"PAGE\s*[-:]?\s*(\d{1,2})\s*END")


@lru_cache(maxsize=2)
def labelled_pdf(pages: int = PAGES) -> bytes:
    """A scanned-only PDF: page n reads "PAGE n END" over two lines of invoice text."""
    from tests.conftest import render_text_image
    from tests.core.pdfmaker import image_pdf

    images = [Image.open(io.BytesIO(render_text_image(
        [f"PAGE {number} END", f"Invoice {1000 + number} total {number * 3}.50", "Fault suite long document"],
        size=40))) for number in range(1, pages + 1)]
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
