"""GET /docs: the interactive API reference (Swagger UI) on this server's /openapi.json.

Swagger UI's files come from the flask-swagger-ui package's dist/ (Swagger UI 5, Apache-2.0,
its LICENSE beside them), served from here: no CDN, and the page keeps the gateway's CSP
(scripts and styles from 'self' only). Only its page and start-up script are ours
(web/apidocs/); the package's own blueprint is not used, since its page starts Swagger UI
with an inline script.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from flask import Blueprint, abort, send_from_directory

bp = Blueprint("docs", __name__)
PAGE_DIR = Path(__file__).resolve().parents[1] / "apidocs"
# What the page loads from the package, and its license; nothing else of the package is served.
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE")
PAGE_FILES = ("init.js", "docs.css")
CACHE_SECONDS = 3600


def swagger_dist() -> Path:
    """flask-swagger-ui's copy of Swagger UI's dist/ directory."""
    return Path(str(files("flask_swagger_ui") / "dist"))


def _send(directory: Path, filename: str, max_age: int | None = None):
    response = send_from_directory(directory, filename, max_age=max_age)
    if filename == "LICENSE":
        response.mimetype = "text/plain"
    return response


@bp.get("/docs")
def page():
    """The interactive API reference (Swagger UI) for this server."""
    return _send(PAGE_DIR, "index.html")


@bp.get("/docs/<name>")
def page_asset(name: str):
    """A file of the API reference page (its start-up script or stylesheet)."""
    if name not in PAGE_FILES:
        abort(404)
    return _send(PAGE_DIR, name)


@bp.get("/docs/swagger-ui/<name>")
def swagger_asset(name: str):
    """A file of Swagger UI, from the copy the flask-swagger-ui package ships."""
    if name not in SWAGGER_FILES:
        abort(404)
    return _send(swagger_dist(), name, max_age=CACHE_SECONDS)
