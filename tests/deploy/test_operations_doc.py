"""docs/OPERATIONS.md names every setting, every variable the images set and every compose variable."""
from __future__ import annotations

import re
from pathlib import Path

from jobs.settings import Settings

from .dockerfile import parse

REPO = Path(__file__).resolve().parents[2]
GUIDE = (REPO / "docs" / "OPERATIONS.md").read_text()


def test_every_setting_is_documented():
    missing = [f"OCR_{name.upper()}" for name in Settings.model_fields if f"`OCR_{name.upper()}`" not in GUIDE]
    assert not missing, missing


def test_every_variable_the_images_set_is_documented():
    for dockerfile in ("Dockerfile.web", "Dockerfile.worker"):
        for name in parse(REPO / dockerfile).final.env():
            assert name == "PATH" or f"`{name}`" in GUIDE, f"{dockerfile}: {name}"


def test_every_compose_variable_is_documented():
    compose = (REPO / "docker-compose.yml").read_text()
    for name in set(re.findall(r"\$\{(\w+)", compose)):
        assert f"`{name}`" in GUIDE, name
