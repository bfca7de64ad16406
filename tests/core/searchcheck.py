"""Reading a searchable PDF back the way users' tools do: pdftotext (poppler) and pdfium.

Both give words or characters with boxes; boxes are brought into a PageResult's pixel
frame so they can be compared with the boxes we wrote.
"""
from __future__ import annotations

import html
import re
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass

import pypdfium2 as pdfium

from ocrcore.document import _PageToPixels
from ocrcore.formats import PageResult

Box = tuple[float, float, float, float]
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_TOKEN = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")


@dataclass(frozen=True)
class Piece:
    text: str
    box: Box  # pixels of the page result's frame


def tokens(text: str) -> Counter:
    """Words split on whitespace, each CJK character a word of its own (CJK has no spaces)."""
    return Counter(_TOKEN.findall(text))


def word_f1(expected: str, got: str) -> float:
    want, have = tokens(expected), tokens(got)
    hits = sum((want & have).values())
    if not want and not have:
        return 1.0
    precision = hits / max(sum(have.values()), 1)
    recall = hits / max(sum(want.values()), 1)
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)


def page_text(page: PageResult) -> str:
    return "\n".join(line.text for line in page.lines)


def pdftotext_words(data: bytes, result: PageResult) -> tuple[str, list[Piece]]:
    """(the page's plain text, its words with boxes) from poppler's pdftotext."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(data)
        file.flush()
        page = ["-f", str(result.page), "-l", str(result.page)]
        text = subprocess.run(["pdftotext", *page, file.name, "-"], capture_output=True, check=True).stdout
        layout = subprocess.run(
            ["pdftotext", "-bbox", "-cropbox", *page, file.name, "-"], capture_output=True, check=True
        ).stdout.decode()
    # Word boxes are in points from the top left of the page as shown (crop box, /Rotate
    # applied), but <page width height> is the crop box unturned: take the shown size from pdfium.
    document = pdfium.PdfDocument(data)
    try:
        shown_w, shown_h = document.get_page_size(result.page - 1)
    finally:
        document.close()
    sx, sy = result.width / shown_w, result.height / shown_h
    words = [
        Piece(html.unescape(m.group(5)), (float(m.group(1)) * sx, float(m.group(2)) * sy,
                                          float(m.group(3)) * sx, float(m.group(4)) * sy))
        for m in re.finditer(
            r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">(.*?)</word>', layout
        )
    ]
    return text.decode(), [piece for word in words for piece in _split_cjk(word)]


def _split_cjk(word: Piece) -> list[Piece]:
    """pdftotext joins CJK runs that touch (two of our lines side by side) into one word:
    cut such a word into its characters, evenly, as our layer spaces them."""
    if not re.search(f"[{_CJK}]", word.text):
        return [word]
    x0, y0, x1, y1 = word.box
    step = (x1 - x0) / len(word.text)
    return [Piece(ch, (x0 + i * step, y0, x0 + (i + 1) * step, y1)) for i, ch in enumerate(word.text)]


def pdfium_chars(data: bytes, result: PageResult) -> tuple[str, list[Piece]]:
    """(the page's text, its non-space characters with loose boxes) from pdfium."""
    document = pdfium.PdfDocument(data)
    try:
        page = document[result.page - 1]
        textpage = page.get_textpage()
        to_pixels = _PageToPixels(page, result.width, result.height)
        text = textpage.get_text_range()
        chars = []
        for i in range(textpage.count_chars()):
            char = textpage.get_text_range(i, 1)
            if char.strip():
                chars.append(Piece(char, to_pixels.rect(*textpage.get_charbox(i, loose=True))))
        textpage.close()
        page.close()
        return text, chars
    finally:
        document.close()


def bbox(line) -> Box:
    xs = [p[0] for p in line.bounding_box]
    ys = [p[1] for p in line.bounding_box]
    return min(xs), min(ys), max(xs), max(ys)


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def line_matches(result: PageResult, pieces: list[Piece]) -> list[tuple[str, str, float]]:
    """Per line: (our text, the extracted text whose centres lie in our box, IoU of their
    union with our box). Spaces are ignored in the texts (extractors differ on them)."""
    out = []
    for line in result.lines:
        box = bbox(line)
        inside = [
            p for p in pieces
            if box[0] <= (p.box[0] + p.box[2]) / 2 <= box[2] and box[1] <= (p.box[1] + p.box[3]) / 2 <= box[3]
        ]
        if not inside:
            out.append((line.text, "", 0.0))
            continue
        union = (min(p.box[0] for p in inside), min(p.box[1] for p in inside),
                 max(p.box[2] for p in inside), max(p.box[3] for p in inside))
        out.append(("".join(line.text.split()), "".join(p.text for p in inside).replace(" ", ""), iou(union, box)))
    return out
