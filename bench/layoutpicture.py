"""The picture in docs/DOCUMENTS.md: a bench.layout page with its layout blocks drawn.

    python -m bench.layoutpicture [--page en-1-2-1] [--out docs/img/layout-blocks.png]

OCRs one of bench.layout's rendered pages and draws each block's frame, coloured by type,
with its reading-order number and type, as the web UI does.
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ocrcore.engine import OcrEngine
from ocrcore.formats import PageResult
from ocrcore.layout import analyze_document

from . import layout as bench_layout

COLOURS = {"heading": "#c2410c", "paragraph": "#7a5cc2", "list_item": "#1d4ed8", "table": "#0f766e",
           "caption": "#a16207", "header": "#6b7280", "footer": "#6b7280"}
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", default="en-1-2-1", help="a rendered page's name in bench.layout")
    parser.add_argument("--out", type=Path, default=Path("docs/img/layout-blocks.png"))
    args = parser.parse_args(argv)
    page = next(p for p in bench_layout.make_pages(["en", "zh"], None) if p.name == args.page)
    result = OcrEngine(threads=2).run(page.pixels)
    (layout,) = analyze_document([PageResult(1, result.width, result.height, "ocr", result.lines, result.rulings)])
    image = Image.open(io.BytesIO(page.pixels)).convert("RGB")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 22)
    for number, block in enumerate(layout.blocks, start=1):
        x0, y0, x1, y1 = block.box
        colour = COLOURS[block.type]
        draw.rectangle((x0 - 6, y0 - 6, x1 + 6, y1 + 6), outline=colour, width=3)
        label = f"{number} {block.type.replace('_', ' ')}"
        draw.text((x0 - 6, y0 - 32), label, fill=colour, font=font, stroke_width=3, stroke_fill="white")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.thumbnail((900, 1300))
    image.quantize(colors=64).save(args.out, optimize=True)  # a few hundred KB, not a megabyte
    print(f"{args.out}: {len(layout.blocks)} blocks")


if __name__ == "__main__":
    main()
