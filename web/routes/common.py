"""Small helpers the route modules share."""
from __future__ import annotations

from flask import current_app, url_for

from jobs.settings import Settings

from ..job_queue import JobQueue


def settings() -> Settings:
    return current_app.config["OCR_SETTINGS"]


def job_queue() -> JobQueue:
    return current_app.extensions["ocr_job_queue"]


def job_url(job_id: str) -> str:
    return url_for("jobs.get_job", job_id=job_id)
