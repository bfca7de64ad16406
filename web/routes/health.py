"""Probes and service metadata: /healthz, /readyz, /models, /openapi.json."""
from __future__ import annotations

from flask import Blueprint, jsonify
from spectree import Response

from ocrcore.registry import DEFAULT_MODEL, MODEL_SETS

from ..openapi import spec
from ..schemas import HealthResponse, ModelsResponse, ReadyResponse
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
    body = {"status": "ready" if redis_ok and workers else "unready", "redis": redis_ok, "workers": workers}
    if body["status"] == "ready":
        return jsonify(body)
    reason = "Redis is unreachable." if not redis_ok else "No worker is alive."
    body["error"] = {"code": "not_ready", "message": reason}
    response = jsonify(body)
    response.status_code = 503
    response.headers["Retry-After"] = str(settings().retry_after)
    return response


@bp.get("/models")
@spec.validate(resp=Response(HTTP_200=ModelsResponse), tags=["meta"], skip_validation=True)
def models():
    """The installed model sets and the default one."""
    return jsonify({"default": settings().default_model or DEFAULT_MODEL, "models": list(MODEL_SETS)})


@bp.get("/openapi.json")
@spec.validate(resp=Response("HTTP_200"), tags=["meta"], skip_validation=True)
def openapi_document():
    """This API's OpenAPI document."""
    return jsonify(spec.spec)
