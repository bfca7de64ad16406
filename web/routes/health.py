"""Probes and service metadata: /healthz, /readyz, /models, /limits, /openapi.json."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from spectree import Response

from jobs.errors import ErrorCode
from jobs.model import ACTIVE, FINAL, error_body
from ocrcore.limits import INPUT_KINDS, OUTPUT_FORMATS
from ocrcore.registry import DEFAULT_MODEL, MODEL_SETS

from ..openapi import api_document, spec
from ..schemas import HealthResponse, LimitsResponse, ModelsResponse, ReadyResponse
from .common import job_queue, settings

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@spec.validate(resp=Response(HTTP_200=HealthResponse), tags=["health"], skip_validation=True)
def healthz():
    """The gateway process is up (checks nothing else)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@spec.validate(resp=Response(HTTP_200=ReadyResponse, HTTP_503=ReadyResponse), tags=["health"], skip_validation=True)
def readyz():
    """Ready to do work: Redis answers and at least one worker child reported alive recently."""
    redis_ok, workers = job_queue().ready()
    body: dict[str, Any] = {
        "status": "ready" if redis_ok and workers else "unready", "redis": redis_ok, "workers": workers,
    }
    if body["status"] == "ready":
        return jsonify(body)
    reason = "Redis is unreachable." if not redis_ok else "No worker is alive."
    body["error"] = error_body(ErrorCode.NOT_READY, reason)
    response = jsonify(body)
    response.status_code = 503
    response.headers["Retry-After"] = str(settings().retry_after)
    return response


@bp.get("/models")
@spec.validate(resp=Response(HTTP_200=ModelsResponse), tags=["meta"], skip_validation=True)
def models():
    """The installed model sets and the default one."""
    return jsonify({"default": settings().default_model or DEFAULT_MODEL, "models": list(MODEL_SETS)})


@bp.get("/limits")
@spec.validate(resp=Response(HTTP_200=LimitsResponse), tags=["meta"], skip_validation=True)
def limits():
    """What this server accepts and the job statuses it uses: the values it enforces, for clients and the UI."""
    s = settings()
    return jsonify({
        "max_upload_bytes": s.max_upload_bytes,
        "max_body_bytes": s.max_body_bytes,
        "max_image_pixels": s.max_image_pixels,
        "max_files_per_job": s.max_files_per_job,
        "max_pdf_pages": s.max_pdf_pages,
        "pdf_dpi": s.pdf_dpi,
        "sync_timeout": s.sync_timeout,
        "input_formats": list(INPUT_KINDS),
        "output_formats": list(OUTPUT_FORMATS),
        "job_statuses": {"active": [str(x) for x in ACTIVE], "final": [str(x) for x in FINAL]},
    })


@bp.get("/openapi.json")
@spec.validate(resp=Response("HTTP_200"), tags=["meta"], skip_validation=True)
def openapi_document():
    """This API's OpenAPI document."""
    return jsonify(api_document(settings()))
