"""Small helpers the browser tests share."""
from __future__ import annotations

OCR_TIMEOUT_MS = 180_000  # a cold worker loads its models on the first job; CI has 2 cores


def wait_for_state(page, state: str, timeout: int = OCR_TIMEOUT_MS) -> None:
    """Wait until the UI's job badge shows `state` (queued, running, succeeded, ...)."""
    page.wait_for_selector(f'#job-badge[data-state="{state}"]', timeout=timeout)
