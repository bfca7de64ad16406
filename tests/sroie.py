"""The SROIE receipts in ../shared beside the repo, and their transcripts (tests only; the
product never reads /work/shared)."""
from __future__ import annotations

import re
from pathlib import Path

SROIE = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "sroie-dev"
RECEIPT = SROIE / "img" / "000.jpg"  # the real receipt most tests read


def transcript_words(stem: str) -> set[str]:
    """Distinctive words (6+ letters, upper-cased) from a receipt's own transcripts."""
    words: set[str] = set()
    for row in (SROIE / "box" / f"{stem}.csv").read_text(encoding="utf-8", errors="replace").splitlines():
        parts = row.split(",", 8)
        if len(parts) == 9:
            words.update(re.findall(r"[A-Z]{6,}", parts[8].upper()))
    return words
