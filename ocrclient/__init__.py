"""ocrclient: the OCR service's Python client and the `ocrserve` command.

    from ocrclient import Client
    result = Client("http://localhost:5005").ocr("receipt.jpg", output_format="markdown")

Talks to the service over HTTP only (the jobs API); needs the `client` extra (requests, tqdm).
"""
from __future__ import annotations

from .client import (
    DEFAULT_URL,
    Client,
    JobFailed,
    OcrClientError,
    ServiceError,
    Stopped,
    Unreachable,
)

__all__ = ["DEFAULT_URL", "Client", "JobFailed", "OcrClientError", "ServiceError", "Stopped", "Unreachable"]
