"""Decoder fuzzing: mutated files of one input format through every path that reads them.

For each case Hypothesis draws a small valid file of the format (tests/fuzz/samples.py) and a
list of mutations (bit flips, overwritten, inserted, deleted or duplicated runs, truncation,
header fields set to extremes), then the bytes go through

- the gateway's check (web/validation.py `_check_file`: type from the bytes, pixel count
  from the header, a PDF opened and its pages counted): only ApiError may come out;
- the worker's decode (ocrcore/decode.py) for images: only ImageDecodeError
  (ImageTooLargeError included);
- the worker's PDF path (ocrcore/document.py open_pdf + prepare_page of every page, text
  layer or rendering, with the service's DPI and pixel cap) for PDFs: only DocumentError.

Each case has a time limit (SIGALRM; native code is cut when it returns to Python, and the
parent's timeout catches a call that never does). Anything else is a failure, reported
with the bytes that caused it.

    python -m tests.fuzz.decoders KIND CASES [SEED]

runs one format in this process and prints one JSON line with the figures; the tests run each
format in a child process, so a native crash in a decoder fails that format's test instead of
killing the test session.
"""
from __future__ import annotations

import base64
import json
import signal
import sys
import time
import warnings
from collections import Counter

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from .samples import MEDIA_TYPES, image_file

MAGIC_BYTES = 12  # ocrcore.limits.sniff_type looks at these (and for %PDF- in the first 1024)
CASE_SECONDS = 10.0  # per case; far above any case seen (the slowest take well under a second)


class Hang(Exception):
    pass


@st.composite
def mutated(draw, kind: str) -> bytes:
    data = bytearray(draw(image_file(kind, max_side=64)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        op = draw(st.sampled_from(("flip", "overwrite", "insert", "delete", "duplicate", "truncate", "extreme")))
        # Mostly past the magic bytes, so most cases reach the decoder rather than the type check.
        first = 0 if draw(st.integers(0, 9)) == 0 else min(MAGIC_BYTES, len(data) - 1)
        at = draw(st.integers(first, len(data) - 1))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=16))
            data[at:at + len(chunk)] = chunk
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "duplicate":
            length = draw(st.integers(1, 256))
            data[at:at] = data[at:at + length] * draw(st.integers(1, 8))
        elif op == "truncate":
            del data[max(at, 1):]
        else:  # a length, size or offset field set to an extreme value
            width = draw(st.sampled_from((1, 2, 4)))
            value = draw(st.sampled_from((0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)))
            data[at:at + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, draw(st.sampled_from(("big",
                                                                                                        "little"))))
    return bytes(data)


def _on_alarm(signum, frame):
    raise Hang()


def check_case(kind: str, data: bytes, stats: Counter) -> None:
    """Run one file through the paths; raise AssertionError on an untyped exception or a hang."""
    from jobs.settings import Settings
    from ocrcore import limits
    from ocrcore import decode
    from ocrcore.document import DocumentError, open_pdf
    from ocrcore.errors import ImageDecodeError
    from web.errors import ApiError
    from web.schemas import OcrParams
    from web.validation import _check_file

    service = Settings(redis_url="redis://127.0.0.1:9/0")
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    started = time.perf_counter()
    stage = "gateway"
    try:
        try:
            _check_file(data, "fuzz", OcrParams(), service)
            stats["gateway_accepted"] += 1
        except ApiError as exc:
            stats[f"gateway_{exc.code}"] += 1
        sniffed = limits.sniff_type(data)
        if sniffed == "pdf":
            stage = "pdf"
            try:
                with open_pdf(data, max_pages=limits.MAX_PDF_PAGES) as document:
                    for index in document.selected_pages:
                        document.prepare_page(index, dpi=service.pdf_dpi, max_pixels=service.pdf_max_page_pixels)
                stats["pdf_read"] += 1
            except DocumentError as exc:
                stats[f"pdf_{type(exc).__name__}"] += 1
        elif sniffed is not None:
            stage = "decode"
            try:
                decode.decode_image(data, service.max_image_pixels)
                stats["decoded"] += 1
            except ImageDecodeError as exc:
                stats[f"decode_{type(exc).__name__}"] += 1
        else:
            stats["not_sniffed"] += 1
    except Hang:
        raise AssertionError(f"{kind}: {stage} took longer than {CASE_SECONDS:g} s") from None
    except Exception as exc:
        raise AssertionError(f"{kind}: {stage} raised an untyped {type(exc).__name__}: {exc}") from exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        elapsed = time.perf_counter() - started
        stats["max_ms"] = max(stats["max_ms"], int(elapsed * 1000))


def fuzz(kind: str, cases: int, seed_value: int = 12) -> dict:
    """Run `cases` mutated files of `kind`; returns the figures (raises on the first problem)."""
    signal.signal(signal.SIGALRM, _on_alarm)
    stats: Counter = Counter()
    failing: list[bytes] = []

    @seed(seed_value)
    @settings(max_examples=cases, deadline=None, database=None, derandomize=False,
              phases=(Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))
    @given(mutated(kind))
    def one(data: bytes) -> None:
        stats["cases"] += 1
        try:
            check_case(kind, data, stats)
        except AssertionError:
            failing[:] = [data]
            raise

    started = time.monotonic()
    try:
        one()
    except AssertionError as exc:
        return {"kind": kind, "ok": False, "error": str(exc), "cases": stats["cases"],
                "reproducer_base64": base64.b64encode(failing[0]).decode() if failing else None}
    return {"kind": kind, "ok": True, "seconds": round(time.monotonic() - started, 1), **stats}


def main(argv: list[str]) -> int:
    warnings.simplefilter("ignore")  # PIL's complaints about the broken files are expected by the thousand
    kind, cases = argv[0], int(argv[1])
    if kind not in MEDIA_TYPES:
        raise SystemExit(f"unknown kind {kind!r}; one of {', '.join(MEDIA_TYPES)}")
    result = fuzz(kind, cases, int(argv[2]) if len(argv) > 2 else 12)
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
