"""An invisible-text font for PDF text layers: any Unicode text, no glyph outlines.

A searchable PDF's OCR layer is drawn in text render mode 3 (neither filled nor
stroked), so its font never shows; it only has to (1) be embedded, so no reader goes
looking for a substitute, (2) give every character a known width, so the layer can be
stretched onto the boxes found, and (3) map every code back to its text, so selecting,
searching and copying give our words. Hence a Type0 font with Identity-H encoding over
a CIDFontType2 whose TrueType program (built with fontTools) has one empty glyph:

- each distinct character (code point) written in a document gets the next CID, 1, 2, ...;
  text is shown as 2-byte CIDs, so CJK and any script work the same way;
- the CIDToGIDMap sends every CID to that one empty glyph, 500 units wide (/DW 500);
- the ToUnicode CMap maps each CID to its character: what pdftotext, pdfium and
  every viewer use to extract text.

Ascent 800 / descent -200 (units per em 1000): a font size equal to a line's height puts
the extractors' character boxes (ascent to descent) exactly on the line's box when the
baseline sits 20% of the height above its bottom edge.
"""
from __future__ import annotations

import io
import zlib
from functools import cache

import pikepdf
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

FONT_NAME = "OcrServeGlyphless"
ADVANCE = 500  # glyph width in 1/1000 of the font size
ASCENT = 800
DESCENT = -200
MAX_CIDS = 0xFFFF  # 2-byte codes; a document needing more distinct characters is refused


@cache
def font_program() -> bytes:
    """The TrueType program: .notdef and one blank glyph, both ADVANCE wide, neither inked."""
    builder = FontBuilder(unitsPerEm=1000, isTTF=True)
    glyphs = [".notdef", "blank"]
    builder.setupGlyphOrder(glyphs)
    builder.setupCharacterMap({0x20: "blank"})  # a cmap is required; PDF uses CIDToGIDMap
    # The blank glyph is one zero-area contour (a diagonal) spanning the em box: it paints
    # nothing, but gives the glyph a real bounding box. PDFium drops text whose glyph
    # boxes all collapse to a line (an empty glyph turned by exactly 90 degrees).
    pen = TTGlyphPen(None)
    pen.moveTo((0, DESCENT))
    pen.lineTo((ADVANCE, ASCENT))
    pen.closePath()
    builder.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "blank": pen.glyph()})
    builder.setupHorizontalMetrics({name: (ADVANCE, 0) for name in glyphs})
    builder.setupHorizontalHeader(ascent=ASCENT, descent=DESCENT)
    builder.setupNameTable({"familyName": FONT_NAME, "styleName": "Regular"})
    builder.setupOS2(
        sTypoAscender=ASCENT, sTypoDescender=DESCENT, sTypoLineGap=0,
        usWinAscent=ASCENT, usWinDescent=-DESCENT, fsType=0,  # installable: may be embedded
    )
    builder.setupPost()
    # No timestamps: the same program from every process, so the same job makes the same PDF
    # whichever worker child writes it (fontTools stamps "now" by default).
    builder.font["head"].created = builder.font["head"].modified = 0
    builder.font.recalcTimestamp = False
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


class GlyphlessFont:
    """The font objects of one output PDF and the CIDs given out so far.

    Create it, `encode()` every string shown with it, then `finish()` once before the
    PDF is saved (it writes the CID maps, which depend on every character used).
    """

    def __init__(self, pdf: pikepdf.Pdf):
        self._cids: dict[str, int] = {}
        self._to_unicode = pdf.make_stream(b"")
        self._cid_to_gid = pdf.make_stream(b"")
        program = pdf.make_stream(b"")
        program.write(zlib.compress(font_program()), filter=pikepdf.Name.FlateDecode)
        descriptor = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor,
            FontName=pikepdf.Name("/" + FONT_NAME),
            Flags=4,  # symbolic: the font has its own glyph set, no standard encoding
            FontBBox=[0, DESCENT, ADVANCE, ASCENT],
            ItalicAngle=0, Ascent=ASCENT, Descent=DESCENT, CapHeight=ASCENT, StemV=80,
            FontFile2=program,
        ))
        cid_font = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.CIDFontType2,
            BaseFont=pikepdf.Name("/" + FONT_NAME),
            CIDSystemInfo=pikepdf.Dictionary(
                Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"), Supplement=0
            ),
            FontDescriptor=descriptor,
            DW=ADVANCE,
            CIDToGIDMap=self._cid_to_gid,
        ))
        self.font = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type0,
            BaseFont=pikepdf.Name("/" + FONT_NAME),
            Encoding=pikepdf.Name("/Identity-H"),
            DescendantFonts=[cid_font],
            ToUnicode=self._to_unicode,
        ))

    def encode(self, text: str) -> bytes:
        """The 2-byte CID string that shows `text` (one code per code point)."""
        out = bytearray()
        for char in text:
            cid = self._cids.get(char)
            if cid is None:
                if len(self._cids) >= MAX_CIDS:
                    raise ValueError(f"more than {MAX_CIDS} distinct characters in one document")
                cid = self._cids[char] = len(self._cids) + 1  # CID 0 stays .notdef
            out += cid.to_bytes(2, "big")
        return bytes(out)

    def finish(self) -> None:
        count = len(self._cids)
        # CID 0 -> GID 0 (.notdef); every CID we gave out -> GID 1, the blank glyph.
        self._cid_to_gid.write(zlib.compress(b"\x00\x00" + b"\x00\x01" * count), filter=pikepdf.Name.FlateDecode)
        self._to_unicode.write(zlib.compress(to_unicode_cmap(self._cids)), filter=pikepdf.Name.FlateDecode)


def to_unicode_cmap(cids: dict[str, int]) -> bytes:
    """A ToUnicode CMap (PDF 32000-1 9.10.3) for 2-byte codes: bfchar entries, <= 100 a block."""
    entries = sorted((cid, char) for char, cid in cids.items())
    blocks = []
    for start in range(0, len(entries), 100):
        chunk = entries[start:start + 100]
        lines = "\n".join(f"<{cid:04X}> <{char.encode('utf-16-be').hex().upper()}>" for cid, char in chunk)
        blocks.append(f"{len(chunk)} beginbfchar\n{lines}\nendbfchar")
    body = "\n".join(blocks)
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        f"/CMapName /{FONT_NAME}-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{body}\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")
