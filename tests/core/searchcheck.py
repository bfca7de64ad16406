"""Searchable PDFs in tests/core and tests/service: the scanned inputs both make, and reading the
output back the way users' tools do, pdftotext (poppler) and pdfium.

Both tools give words or characters with boxes; boxes are brought into a PageResult's pixel
frame so they can be compared with the boxes we wrote (check_extraction).
"""
from __future__ import annotations

import html
import io
import re
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass

import pikepdf
import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont

from ocrcore.document import _PageToPixels
from ocrcore.formats import PageResult
from tests.core.pdfmaker import image_pdf

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
NOTO_CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

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
    # Where the text layer puts the line: its placement box (the ink box where there is one).
    box = getattr(line, "placement_box", line.bounding_box)
    xs = [p[0] for p in box]
    ys = [p[1] for p in box]
    return min(xs), min(ys), max(xs), max(ys)


def _inside(a: Box, b: Box) -> float:
    """The share of box a inside box b."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    area = (a[2] - a[0]) * (a[3] - a[1])
    return max(w, 0) * max(h, 0) / area if area > 0 else 0.0


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def line_matches(result: PageResult, pieces: list[Piece], inside: bool = False) -> list[tuple[str, str, float]]:
    """Per line: (our text, the extracted text whose centres lie in our box, IoU of their
    union with our box, or with `inside` the share of the union inside our box). Spaces
    are ignored in the texts (extractors differ on them)."""
    out = []
    for line in result.lines:
        box = bbox(line)
        inside_pieces = [
            p for p in pieces
            if box[0] <= (p.box[0] + p.box[2]) / 2 <= box[2] and box[1] <= (p.box[1] + p.box[3]) / 2 <= box[3]
        ]
        if not inside_pieces:
            out.append((line.text, "", 0.0))
            continue
        union = (min(p.box[0] for p in inside_pieces), min(p.box[1] for p in inside_pieces),
                 max(p.box[2] for p in inside_pieces), max(p.box[3] for p in inside_pieces))
        overlap = _inside(union, box) if inside else iou(union, box)
        out.append(("".join(line.text.split()), "".join(p.text for p in inside_pieces).replace(" ", ""), overlap))
    return out


# ---------- inputs ----------

def scan_page(lines: list[str], font_path: str, size: int = 34, width: int = 900, height: int = 1100) -> Image.Image:
    font = ImageFont.truetype(font_path, size)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((60, 80 + int(i * size * 2.2)), line, fill="black", font=font)
    return image


def three_page_scan() -> bytes:
    """Three scanned pages (JPEG images at 200 DPI, no text layer): English; Chinese and
    Japanese; English stored turned a quarter (shown upright by /Rotate 90) on a page whose
    crop box is offset inside a larger media box."""
    english = scan_page(["Quarterly report for the board", "Revenue grew by 12 percent",
                         "Costs stayed flat this year", "Invoice number 48213 paid"], DEJAVU)
    cjk = scan_page(["中文文本识别测试", "今天天气很好", "价格 12.50 元", "東京都千代田区"], NOTO_CJK, size=40)
    turned = scan_page(["Second quarter results", "Net income rose sharply", "Thank you for reading"],
                       DEJAVU).rotate(90, expand=True)
    data = image_pdf([english, cjk, turned], resolution=200)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[2].obj
        w, h = (float(v) for v in page.MediaBox[2:])
        page.MediaBox = [-30, -40, w + 20, h + 10]
        page.CropBox = [-10, -20, w, h - 5]
        page.Rotate = 90
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


# ---------- checks ----------

def check_extraction(data: bytes, pages: list[PageResult], reported: bool = False) -> dict[str, list[float]]:
    """Both extractors' text of each page against our text (word F1 >= 0.99), and every
    line's extracted position on our box (IoU >= 0.7). `reported`: the pages were rebuilt
    from the service's JSON, whose boxes are the detector's (padded round the text, and the
    ink box the text layer is placed on is not in the JSON): there the extracted text must
    lie inside the reported box (>= 0.9 of it) instead."""
    figures: dict[str, list[float]] = {"f1": [], "iou": []}
    for page in pages:
        assert page.lines, f"page {page.page} has no text to check"
        for extract in (pdftotext_words, pdfium_chars):
            text, pieces = extract(data, page)
            f1 = word_f1(page_text(page), text)
            assert f1 >= 0.99, f"{extract.__name__} page {page.page}: F1 {f1:.3f}\n{page_text(page)}\n---\n{text}"
            figures["f1"].append(f1)
            for ours, found, overlap in line_matches(page, pieces, inside=reported):
                bound = 0.9 if reported else 0.7
                assert overlap >= bound, f"{extract.__name__} page {page.page}: {ours!r} -> {found!r}, {overlap:.2f}"
                figures["iou"].append(overlap)
    return figures


def contents_raw(page: pikepdf.Page) -> list[bytes]:
    """A page's content streams as stored (not decoded): equal bytes mean untouched."""
    contents = page.obj.Contents
    streams = contents if isinstance(contents, pikepdf.Array) else [contents]
    return [stream.read_raw_bytes() for stream in streams]
