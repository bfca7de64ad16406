"""The static web UI from frontend/: index.html at /, its files at /<name>."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, send_from_directory
from werkzeug.routing import PathConverter

bp = Blueprint("ui", __name__)
FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend"


class UiAssetPath(PathConverter):
    """The app's `path` converter: only names that look like UI assets, so an unknown URL
    or method is a plain 404/405 instead of a lookup in frontend/. (Named `path` so the
    OpenAPI generator documents it as a string.)"""

    regex = r"(?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_.-]+\.(?:html|js|mjs|css|svg|png|ico|webp|webmanifest|txt|map|woff2?)"


def _send(filename: str):
    response = send_from_directory(current_app.config.get("OCR_FRONTEND_DIR") or FRONTEND_DIR, filename)
    response.direct_passthrough = False  # small files, served whole
    return response


@bp.get("/")
def index():
    """The web UI."""
    return _send("index.html")


@bp.get("/<path:filename>")
def asset(filename: str):
    """A file of the web UI (script, stylesheet, icon)."""
    return _send(filename)
