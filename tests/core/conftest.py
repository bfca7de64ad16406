import pytest

from ocrcore import OcrEngine


@pytest.fixture(scope="session")
def engine() -> OcrEngine:
    """One engine for the core tests: loading the sessions is the slow part."""
    return OcrEngine(threads=2)
