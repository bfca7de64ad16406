"""The typed job: what the gateway writes into a job record and the worker reads back.

Every field that crosses the process boundary is declared here once, with its encoding in
the Redis hash: statuses, file descriptions, options, the error body. Neither side reads a
raw field name with a default of its own.
"""
from __future__ import annotations

import json
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypedDict

from ocrcore.formats import PageResult
from ocrcore.layout import Rulings
from ocrcore.limits import OUTPUT_FORMATS, OutputFormat
from ocrcore.types import TextLine, Word

# 128 random bits, URL-safe base64: the only thing standing between a job and a stranger.
JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")


def new_job_id() -> str:
    return secrets.token_urlsafe(16)


def looks_like_job_id(value: object) -> bool:
    return isinstance(value, str) and JOB_ID_PATTERN.fullmatch(value) is not None


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def finished(self) -> bool:
        return self in FINAL


ACTIVE: tuple[Status, ...] = (Status.QUEUED, Status.RUNNING)
FINAL: tuple[Status, ...] = (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)


class ErrorBody(TypedDict):
    """{"code", "message"}: a failed job's `error`, and every HTTP error's body."""

    code: str
    message: str


def error_body(code: str, message: str) -> ErrorBody:
    return {"code": str(code), "message": message}


# --- binary results (output_format=pdf) ---------------------------------------------
# The worker stores a binary result's documents under the job's output key, in order, and
# refers to each by its 1-based number: a result (or each entry of "files") carries
# {"document": n, "filename", "bytes", "pages"}. The gateway shows "url" in place of
# "document" (with_document_urls), so the worker never needs to know the HTTP paths.

_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|;]+')


def download_name(filename: str | None, extension: str, fallback: str = "document") -> str:
    """The name of a file made from an upload: its name's stem (Unicode kept; path
    separators, control and format characters, quotes and ;:*?<>| replaced or dropped; at
    most 100 characters) + "." + extension."""
    stem = unicodedata.normalize("NFC", filename or "")
    # No format or separator characters either (a right-to-left override can disguise a name).
    stem = "".join(ch for ch in stem if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", stem)  # the upload's own extension
    stem = _UNSAFE_NAME.sub("_", stem).strip(" ._")[:100].strip(" ._")
    return f"{stem or fallback}.{extension}"


def document_numbers(result: dict[str, Any] | None) -> list[int]:
    """The documents a binary result refers to, each once, in order."""
    if not result:
        return []
    entries = [entry.get("result") for entry in result.get("files") or []] if "files" in result else [result]
    numbers = [entry["document"] for entry in entries if isinstance(entry, dict) and "document" in entry]
    return list(dict.fromkeys(int(n) for n in numbers))


def with_document_urls(result: dict[str, Any], url: Callable[[int], str]) -> dict[str, Any]:
    """A binary result as clients see it: each "document": n replaced by "url": url(n), in place."""
    def swap(entry: Any) -> Any:
        if not isinstance(entry, dict) or "document" not in entry:
            return entry
        return {("url" if k == "document" else k): (url(int(v)) if k == "document" else v) for k, v in entry.items()}

    if "files" in result:
        return {**result, "files": [{**f, "result": swap(f.get("result"))} for f in result["files"]]}
    return swap(result)


@dataclass(frozen=True)
class FileMeta:
    """What the worker is told about an uploaded file besides its bytes."""

    filename: str | None = None  # as the client named it (a label only); None for JSON uploads
    kind: str | None = None  # ocrcore.limits.sniff_type's answer: an image kind or "pdf"
    pages: tuple[int, ...] | None = None  # PDFs: the 0-based pages to read, page_range applied

    @property
    def is_pdf(self) -> bool:
        return self.kind == "pdf"

    @property
    def page_count(self) -> int:
        """Pages this file adds to the job (an image is one)."""
        return 1 if self.pages is None else len(self.pages)

    def to_json(self) -> dict[str, Any]:
        return {"filename": self.filename, "kind": self.kind, "pages": None if self.pages is None else list(self.pages)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FileMeta:
        pages = raw.get("pages")
        return cls(raw.get("filename"), raw.get("kind"), None if pages is None else tuple(int(p) for p in pages))


@dataclass(frozen=True)
class JobOptions:
    """How to OCR the job's files and shape the result (the request's options, validated)."""

    model: str | None = None  # None: the worker's default model set
    use_angle_cls: bool = True
    det_limit_side: int | None = None  # None: the engine's
    output_format: OutputFormat = "json"
    force_ocr: bool = False
    paginate_output: bool = False
    layout: bool = False  # json: add each page's block tree (ocrcore.layout) beside its lines
    keep_headers_footers: bool = False  # text formats: keep running headers, footers, page numbers

    def __post_init__(self) -> None:
        if self.output_format not in OUTPUT_FORMATS:
            raise ValueError(f"unknown output format {self.output_format!r}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> JobOptions:
        known = {name: raw[name] for name in cls.__dataclass_fields__ if name in raw}
        return cls(**known)


def iso_utc(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Job:
    """A job record as read from Redis (jobs/store.py writes and changes it)."""

    id: str
    status: Status
    created_at: float
    ttl: int
    options: JobOptions = field(default_factory=JobOptions)
    files: list[FileMeta] = field(default_factory=list)
    started_at: float | None = None
    finished_at: float | None = None
    progress_done: int = 0
    progress_total: int = 0
    result: dict[str, Any] | None = None
    error: ErrorBody | None = None
    attempts: int = 0
    deadline: float | None = None
    worker: str | None = None
    callback_url: str | None = None
    callback_status: str | None = None  # set to pending when the job ends; then delivered or failed
    callback_attempts: int = 0
    callback_error: str | None = None

    @classmethod
    def from_hash(cls, job_id: str, raw: dict[bytes, bytes]) -> Job:
        f = {k.decode(): v.decode() for k, v in raw.items()}

        def number(name: str) -> float | None:
            return float(f[name]) if f.get(name) else None

        return cls(
            id=job_id,
            status=Status(f["status"]),
            created_at=float(f["created_at"]),
            ttl=int(f["ttl"]),
            options=JobOptions.from_json(json.loads(f.get("options") or "{}")),
            files=[FileMeta.from_json(meta) for meta in json.loads(f.get("files") or "[]")],
            started_at=number("started_at"),
            finished_at=number("finished_at"),
            progress_done=int(f.get("progress_done") or 0),
            progress_total=int(f.get("progress_total") or 0),
            result=json.loads(f["result"]) if f.get("result") else None,
            error=json.loads(f["error"]) if f.get("error") else None,
            attempts=int(f.get("attempts") or 0),
            deadline=number("deadline"),
            worker=f.get("worker") or None,
            callback_url=f.get("callback_url") or None,
            callback_status=f.get("callback_status") or None,
            callback_attempts=int(f.get("callback_attempts") or 0),
            callback_error=f.get("callback_error") or None,
        )

    @property
    def finished(self) -> bool:
        return self.status.finished

    def public(self, document_url: Callable[[int], str] | None = None) -> dict[str, Any]:
        """The job as GET /jobs/<id> shows it; `document_url(n)` links a binary result's documents."""
        result = self.result if self.status == Status.SUCCEEDED else None
        if result is not None and document_url is not None and self.options.output_format == "pdf":
            result = with_document_urls(result, document_url)
        document: dict[str, Any] = {
            "id": self.id,
            "status": str(self.status),
            "created_at": iso_utc(self.created_at),
            "started_at": iso_utc(self.started_at),
            "finished_at": iso_utc(self.finished_at),
            "progress": {"done": self.progress_done, "total": self.progress_total} if self.progress_total else None,
            "result": result,
            "error": self.error if self.status == Status.FAILED else None,
        }
        if self.callback_url:  # only jobs submitted with one show the delivery's state
            document["callback"] = {
                "url": self.callback_url,
                "status": self.callback_status or "pending",
                "attempts": self.callback_attempts,
                "last_error": self.callback_error,
            }
        return document


def document_path(job: Job) -> Callable[[int], str]:
    """The gateway's document URLs (web/routes/common.document_url) as paths, for code without
    the Flask app: the worker's callbacks."""
    if len(document_numbers(job.result)) == 1:
        return lambda _number: f"/jobs/{job.id}/result"
    return lambda number: f"/jobs/{job.id}/result/{number}"


# --- page tasks (jobs/parts.py, worker/fanout.py) --------------------------------------
# A job split into page tasks keeps each page's outcome in its parts hash until the child
# that finishes the last page assembles the job's result from them. Every value the
# result is made of crosses as it is (floats through JSON's repr round-trip exactly), so
# the assembled result is the one a single task would have made.


def _line_to_json(line: TextLine) -> dict[str, Any]:
    words = None if line.words is None else [[word.text, word.bounding_box] for word in line.words]
    return {"text": line.text, "confidence": line.confidence, "box": line.bounding_box, "words": words,
            "ink": line.ink_box}


def _line_from_json(raw: dict[str, Any]) -> TextLine:
    words = raw.get("words")
    return TextLine(raw["text"], raw["confidence"], raw["box"],
                    None if words is None else tuple(Word(text, box) for text, box in words), raw.get("ink"))


@dataclass(frozen=True)
class PartOutcome:
    """One page task's outcome: the page read, or the error that made its file fail."""

    page: PageResult | None
    error: ErrorBody | None = None
    seconds: float = 0.0  # how long the task took
    timings: dict[str, float] = field(default_factory=dict)  # OCR seconds per engine stage
    worker: str = ""  # the child that read it ("host:pid")

    def to_json(self) -> str:
        page = None
        if self.page is not None:
            p = self.page
            page = {"page": p.page, "width": p.width, "height": p.height, "source": p.source,
                    "lines": [_line_to_json(line) for line in p.lines],
                    "rulings": p.rulings.to_json() if p.rulings else None}
        return json.dumps({"page": page, "error": self.error, "seconds": self.seconds, "timings": self.timings,
                           "worker": self.worker}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> PartOutcome:
        data = json.loads(raw)
        page = data.get("page")
        result = None
        if page is not None:
            lines = [_line_from_json(line) for line in page["lines"]]
            result = PageResult(page["page"], page["width"], page["height"], page["source"], lines,
                                Rulings.from_json(page.get("rulings")))
        return cls(result, data.get("error"), float(data.get("seconds") or 0.0), dict(data.get("timings") or {}),
                   str(data.get("worker") or ""))
