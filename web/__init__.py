"""The HTTP gateway: validates uploads, queues jobs, serves results and the web UI.

Run it with gunicorn: `gunicorn -c web/gunicorn_conf.py 'web:create_app()'`.
"""
from __future__ import annotations

import logging

from flask import Flask, request

from jobs.settings import Settings, get_settings
from ocrcore import limits

from . import metrics
from .errors import register_error_handlers
from .job_queue import JobQueue
from .routes import docs, health, jobs, ocr, ui

# Strict by default: the UI is served from our origin and needs nothing else.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__, static_folder=None)
    app.config.update(
        OCR_SETTINGS=settings,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        # Multipart: the files and the options, nothing more; option values are short.
        MAX_FORM_PARTS=settings.max_files_per_job + limits.MAX_FORM_FIELDS,
        MAX_FORM_MEMORY_SIZE=limits.MAX_FORM_FIELD_BYTES,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]  # the default provider has it
    app.extensions["ocr_job_queue"] = JobQueue(settings)
    app.url_map.converters["path"] = ui.UiAssetPath  # no other route uses `path`

    for blueprint in (ocr.bp, jobs.bp, health.bp, docs.bp, ui.bp):
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    metrics.init_app(app)  # GET /metrics; request counts and latency; job ids on request log lines

    @app.after_request
    def add_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.blueprint != "ui":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    logging.getLogger(__name__).info(
        "gateway ready: redis %s, sync timeout %gs, max upload %d bytes, max %d queued jobs",
        _redacted(settings.redis_url), settings.sync_timeout, settings.max_upload_bytes, settings.max_queued_jobs,
    )
    return app


def _redacted(url: str) -> str:
    """The Redis URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest
