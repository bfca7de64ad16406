"""Small helpers the route modules share."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from urllib.parse import quote

from flask import Response, current_app, url_for

from jobs.model import Job, document_numbers
from jobs.settings import Settings
from ocrcore.formats import MIMETYPES

from ..job_queue import JobQueue


def settings() -> Settings:
    return current_app.config["OCR_SETTINGS"]


def job_queue() -> JobQueue:
    return current_app.extensions["ocr_job_queue"]


def job_url(job_id: str) -> str:
    return url_for("jobs.get_job", job_id=job_id)


def document_url(job: Job) -> Callable[[int], str]:
    """Where a binary result's documents are fetched: /jobs/<id>/result for a job that made
    one, /jobs/<id>/result/<n> for each of several."""
    if len(document_numbers(job.result)) == 1:
        return lambda _number: url_for("jobs.get_result", job_id=job.id)
    return lambda number: url_for("jobs.get_result", job_id=job.id, number=number)


def document_response(data: bytes, filename: str, processing_time: object = None) -> Response:
    """A document as a download: its media type, its length, an attachment named `filename`."""
    response = Response(data, mimetype=MIMETYPES["pdf"])
    response.headers["Content-Disposition"] = content_disposition(filename)
    if processing_time is not None:
        response.headers["X-Processing-Time"] = str(processing_time)
    return response


def content_disposition(filename: str) -> str:
    """`attachment` with the name twice (RFC 6266): an ASCII-only `filename` for every client,
    and the Unicode name percent-encoded in `filename*`. The name came from a client, so
    nothing of it reaches the header unescaped: the ASCII form keeps only [A-Za-z0-9._ -]."""
    stem, dot, extension = filename.rpartition(".")
    if not dot:
        stem, extension = filename, ""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = re.sub(r"[^A-Za-z0-9._ -]+", "_", ascii_stem).strip(" ._") or "document"
    extension = re.sub(r"[^A-Za-z0-9]+", "", extension)[:8] or "bin"
    fallback = f"{ascii_stem[:100]}.{extension}"
    header = f'attachment; filename="{fallback}"'
    if filename != fallback:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header
