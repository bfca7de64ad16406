"""Headless Chromium (Debian's, never a downloaded one) driving the real UI served by the live stack."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class PageProblems:
    """Everything the page reports that a user would never see: script errors and CSP violations."""

    def __init__(self):
        self.errors: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        # Failed HTTP statuses are logged by Chromium as console errors; the tests provoke those on purpose.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(f"console: {message.text}")


@pytest.fixture
def ui(browser, live_service, request):
    """A fresh page (own context, so no shared state) opened on the gateway's `/`."""
    viewport = getattr(request, "param", None) or {"width": 1366, "height": 900}
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = PageProblems()
    problems.watch(page)
    response = page.goto(live_service.base_url.rstrip("/") + "/")
    assert response is not None and response.ok, f"GET / answered {response and response.status}"
    # The model list arriving means app.js ran under the gateway's CSP. (Selectors, not
    # wait_for_function: Playwright evaluates its predicates with eval, which the CSP forbids.)
    page.wait_for_selector("#model option:nth-child(2)", state="attached")
    page.problems = problems
    page.first_response = response
    yield page
    context.close()
    assert not problems.errors, "the page reported problems:\n" + "\n".join(problems.errors)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
