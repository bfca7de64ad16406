"""How a file's failure is told to the client: the codes and sentences for ocrcore's errors.

The gateway (opening a PDF to count its pages) and the worker (rendering it) meet the
same errors and must name them alike, so both use these.
"""
from __future__ import annotations

from ocrcore.document import (
    DocumentError,
    PageRangeError,
    PdfEncryptedError,
    PdfPageTooLargeError,
    PdfTooManyPagesError,
)

# Any other DocumentError is a PDF that cannot be read: "invalid_pdf".
_DOCUMENT_CODES = (
    (PdfEncryptedError, "pdf_encrypted"),
    (PageRangeError, "invalid_page_range"),
    (PdfPageTooLargeError, "page_too_large"),
    (PdfTooManyPagesError, "too_many_pages"),
)


def document_error(exc: DocumentError) -> tuple[str, str]:
    """The error code and message for a PDF ocrcore refused."""
    code = next((code for kind, code in _DOCUMENT_CODES if isinstance(exc, kind)), "invalid_pdf")
    return code, sentence(exc)


def sentence(exc: Exception) -> str:
    """ocrcore's lower-case messages as the API's sentences."""
    text = str(exc).strip()
    if text[:1].islower() and not text.split(" ", 1)[0].count("_"):  # never "Page_range"
        text = text[:1].upper() + text[1:]
    return text + ("" if text.endswith(".") else ".")
