"""docs/SECURITY.md lists every limit with its default: the numeric limits of ocrcore/limits.py
and ocrcore/document.py, and the settings that bound what a request may cost."""
from __future__ import annotations

from pathlib import Path

import pytest

from jobs.settings import Settings
from ocrcore import document, limits

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "SECURITY.md").read_text()
# Settings that bound what one request, file, page or job may cost, or how long data is kept.
LIMIT_SETTINGS = (
    "max_upload_bytes", "max_image_pixels", "max_files_per_job", "max_pdf_pages", "pdf_dpi", "pdf_max_page_pixels",
    "page_time_limit", "soft_time_limit", "hard_time_limit", "sync_timeout", "max_queued_jobs", "max_attempts",
    "child_memory_limit_mb", "max_memory_per_child_mb", "result_ttl",
)


def row(name: str) -> str:
    rows = [line for line in DOC.splitlines() if line.startswith(f"| `{name}` |")]
    assert rows, f"docs/SECURITY.md has no table row for `{name}`"
    return rows[0]


def number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@pytest.mark.parametrize("name", sorted(
    name for name, value in vars(limits).items()
    if name.isupper() and isinstance(value, int | float) and name != "MB"
))
def test_every_numeric_limit_is_listed_with_its_value(name):
    assert f"| {number(getattr(limits, name))}" in row(name)


@pytest.mark.parametrize("name", ["MAX_PAGE_IMAGE_PIXELS", "MAX_TEXT_CHARS"])
def test_the_pdf_budgets_are_listed(name):
    assert f"| {getattr(document, name)}" in row(name)


@pytest.mark.parametrize("field", LIMIT_SETTINGS)
def test_every_limit_setting_is_listed_with_its_default(field):
    default = Settings.model_fields[field].default
    assert f"| {number(default)}" in row(f"OCR_{field.upper()}")


def test_the_threat_model_names_what_must_stay_private():
    for words in ("no authentication", "128 random bits", "Redis", "OCR_TEST_CRASH_ON"):
        assert words in DOC, words
