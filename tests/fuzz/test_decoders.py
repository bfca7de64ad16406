"""Decoder fuzzing (tests/fuzz/decoders.py): mutated files of every input format through the
gateway's check, the worker's decode and its PDF path; only the typed errors, no hang.

Each format runs in a child process (a native crash fails its test, not the session), with
OCR_FUZZ_CASES cases (300 here; `make fuzz` runs 3000) from a fixed seed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from . import decoders
from .samples import MEDIA_TYPES

REPO = Path(__file__).resolve().parents[2]
CASES = int(os.environ.get("OCR_FUZZ_CASES", "300"))


@pytest.mark.parametrize("kind", list(MEDIA_TYPES))
def test_mutated_files_only_raise_typed_errors(kind):
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz.decoders", kind, str(CASES)], cwd=REPO,
                          capture_output=True, text=True, timeout=60 + CASES * decoders.CASE_SECONDS / 10)
    assert proc.returncode in (0, 1), f"the fuzzer died (exit {proc.returncode}): {proc.stderr[-3000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{kind}: {result}")
    assert result["ok"], result
    assert result["cases"] == CASES
    # The mutations reach the decoders, not only the type check.
    assert result.get("decode_ImageDecodeError", 0) + result.get("pdf_PdfInvalidError", 0) > CASES // 10, result
    assert result["max_ms"] < decoders.CASE_SECONDS * 1000


def test_an_untyped_exception_is_caught(monkeypatch):
    from ocrcore import decode

    def broken(data, max_pixels):
        raise RuntimeError("a decoder bug")

    monkeypatch.setattr(decode, "decode_image", broken)
    with pytest.raises(AssertionError, match="untyped RuntimeError"):
        decoders.check_case("png", _png(), Counter())


def test_a_hang_is_caught(monkeypatch):
    import signal

    from ocrcore import decode

    monkeypatch.setattr(decoders, "CASE_SECONDS", 0.2)
    monkeypatch.setattr(decode, "decode_image", lambda data, max_pixels: time.sleep(5))
    previous = signal.signal(signal.SIGALRM, decoders._on_alarm)
    try:
        with pytest.raises(AssertionError, match="took longer"):
            decoders.check_case("png", _png(), Counter())
    finally:
        signal.signal(signal.SIGALRM, previous)


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (8, 8), 255).save(buffer, format="PNG")
    return buffer.getvalue()
