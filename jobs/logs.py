"""Logging for every process of the service: one JSON object per line, or plain text for `make run`.

Gateway and worker use the same formatter, so one log pipeline reads both. Every line about
a job carries its `job_id`:

- code that knows it is handling a job binds the id (and other fields) to the current
  context (`bind`), and every line logged meanwhile carries them: a worker child binds it
  for the run of a task, the gateway for the request that created or names a job;
- lines written elsewhere follow the house convention of starting with "job %s", and the
  id is taken from that argument; Celery's own task lines give it as the task id.

`OCR_LOG_FORMAT=json|text` picks the shape (json by default and in the images; `make run`
uses text).
"""
from __future__ import annotations

import json
import logging
import re
import socket
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from .model import JOB_ID_PATTERN, looks_like_job_id

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"

_JOB_PATH = re.compile(rf"^/jobs/({JOB_ID_PATTERN.pattern})(?:[/?]|$)")
_context: ContextVar[Mapping[str, Any]] = ContextVar("ocr_log_context", default={})  # noqa: B039 (bind() sets a new mapping, never mutates)

# Attributes every LogRecord has; anything else on a record came from `extra=` or a filter.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


# ---------- context ----------

def bind(**fields: Any) -> None:
    """Add fields to every line this thread (or task) logs from now on, until `clear`."""
    _context.set({**_context.get(), **fields})


def clear() -> None:
    _context.set({})


def bound() -> Mapping[str, Any]:
    return _context.get()


def event(name: str, **fields: Any) -> dict[str, Any]:
    """`extra=` for a line that marks a step of a job's life: accepted, queued, started, finished."""
    return {"event": name, **fields}


class ContextFilter(logging.Filter):
    """Put the bound fields and the job id found by convention on each record (on the handler,
    so it sees records from every logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        if getattr(record, "job_id", None) is None:
            job_id = _job_id_by_convention(record)
            if job_id:
                record.job_id = job_id
        return True


def _job_id_by_convention(record: logging.LogRecord) -> str | None:
    args = record.args
    if isinstance(record.msg, str) and record.msg.startswith("job %s") and isinstance(args, tuple) and args:
        return str(args[0]) if looks_like_job_id(args[0]) else None
    data = getattr(record, "data", None)  # Celery's "Task ocr.run[<id>] received/succeeded"
    if isinstance(data, Mapping) and looks_like_job_id(data.get("id")):
        return data["id"]
    if record.name == "gunicorn.access" and isinstance(args, Mapping):
        match = _JOB_PATH.match(str(args.get("U", "")))
        return match.group(1) if match else None
    return None


# ---------- formatters ----------

class JsonFormatter(logging.Formatter):
    """{"ts", "level", "service", "host", "pid", "logger", "msg", "job_id"?, ...extras} on one line."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service
        self.host = socket.gethostname()

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "service": self.service,
            "host": self.host,
            "pid": record.process,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        job_id = getattr(record, "job_id", None)
        if job_id:
            doc["job_id"] = job_id
        doc.update(_extras(record))
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            doc.update(_access_fields(record.args))
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with any structured fields appended as key=value."""

    def __init__(self, service: str):
        super().__init__(TEXT_FORMAT)
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = _extras(record)
        job_id = getattr(record, "job_id", None)
        if job_id and job_id not in line:
            fields = {"job_id": job_id, **fields}
        if not fields:
            return line
        return line + " | " + " ".join(f"{k}={_compact(v)}" for k, v in fields.items())


def formatter(service: str, fmt: str = "json") -> logging.Formatter:
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return JsonFormatter(service) if fmt == "json" else TextFormatter(service)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    skip = _RECORD_ATTRIBUTES | {"job_id", "data", "taskName"}
    return {k: v for k, v in record.__dict__.items() if k not in skip and not k.startswith("_")}


def _access_fields(atoms: Mapping) -> dict[str, Any]:
    """gunicorn's access-log atoms as fields (h remote, m method, U path, s status, L seconds, b bytes)."""
    def number(value: Any, kind: type) -> Any:
        try:
            return kind(value)
        except (TypeError, ValueError):
            return None

    return {
        "remote": atoms.get("h"),
        "method": atoms.get("m"),
        "path": atoms.get("U"),
        "status": number(atoms.get("s"), int),
        "duration_s": number(atoms.get("L"), float),
        "bytes": number(atoms.get("B"), int) or 0,
    }


def _compact(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str, separators=(",", ":"))
    return str(value)


# ---------- setup ----------

def configure(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Root logger -> stderr through our formatter; replaces whatever was there."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(service, fmt))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)


def gunicorn_logconfig(service: str, level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its error and access lines go through the same root handler."""
    formatter(service, fmt)  # fail at startup on a bad format, not at the first line
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"ocr": {"()": formatter, "service": service, "fmt": fmt}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                       "formatter": "ocr", "filters": ["context"]},
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }
