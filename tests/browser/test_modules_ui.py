"""The UI as ES modules, and the limits it takes from GET /limits: every module loads cleanly,
refusals state the server's numbers, and the page still works when /limits is unavailable."""
from __future__ import annotations

import json
import re

import pytest
import requests

from tests.service.helpers import png_claiming

from .conftest import REPO, PageProblems
from .helpers import wait_for_state

FRONTEND = REPO / "frontend"
JS_TYPES = ("text/javascript", "application/javascript")

# A gateway on the shared Redis and worker with small limits, so the numbers the UI states can
# only have come from its GET /limits.
SMALL_LIMITS = {"OCR_MAX_IMAGE_PIXELS": "2500000", "OCR_MAX_UPLOAD_BYTES": "1048576", "OCR_MAX_FILES_PER_JOB": "2"}


class Traffic:
    """What the page asked for and how each request ended."""

    def __init__(self, page):
        self.responses: dict[str, int] = {}
        self.types: dict[str, str] = {}
        self.failed: list[str] = []
        self.posts: list[str] = []
        page.on("response", self._response)
        page.on("requestfailed", lambda r: self.failed.append(f"{r.method} {r.url}: {r.failure}"))
        page.on("request", lambda request: request.method == "POST" and self.posts.append(request.url))

    def _response(self, response) -> None:
        path = "/" + response.url.split("/", 3)[3]
        self.responses[path] = response.status
        self.types[path] = response.headers.get("content-type", "")


def open_page(browser, base_url: str, limits_status: int | None = None):
    """A fresh page on base_url's UI, waiting until the model list arrived (app.js ran).
    With limits_status, GET /limits answers that status instead of reaching the server."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    if limits_status is not None:
        context.route("**/limits", lambda route: route.fulfill(
            status=limits_status, content_type="application/json",
            body=json.dumps({"error": {"code": "internal_error", "message": "Broken on purpose."}})))
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.problems = PageProblems()
    page.problems.watch(page)
    page.traffic = Traffic(page)
    page.console_errors = []  # every console error, failed resources included
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    response = page.goto(base_url.rstrip("/") + "/")
    assert response is not None and response.ok
    page.wait_for_selector("#model option:nth-child(2)", state="attached")
    page.wait_for_load_state("networkidle")
    return page


@pytest.fixture(scope="module")
def small_gateway(live_service) -> str:
    return live_service.add_gateway("web-ui-small-limits", SMALL_LIMITS)


def refusal(page, paths) -> str:
    page.set_input_files("#file-input", [str(p) for p in paths])
    page.click("#submit")
    page.wait_for_selector("#error:not([hidden])")
    return page.inner_text("#error-text").strip()


def test_modules_load_without_errors_or_failed_requests(browser, live_service):
    page = open_page(browser, live_service.base_url)
    try:
        modules = sorted(p.name for p in FRONTEND.glob("*.js"))
        assert "app.js" in modules and len(modules) > 5, modules
        traffic = page.traffic
        for name in modules:
            # Every module is reached from the entry point, served as JavaScript (module scripts
            # refuse anything else), and says what it is for in its first line.
            assert traffic.responses.get(f"/{name}") == 200, (name, traffic.responses)
            assert traffic.types[f"/{name}"].split(";")[0] in JS_TYPES, (name, traffic.types[f"/{name}"])
            assert (FRONTEND / name).read_text(encoding="utf-8").startswith("// "), f"{name} has no header comment"
        assert traffic.responses.get("/limits") == 200 and traffic.responses.get("/models") == 200
        assert not traffic.failed, traffic.failed
        bad = {path: status for path, status in traffic.responses.items() if status >= 400}
        assert not bad, bad
        # Strict here: not even a failed resource may be logged.
        assert not page.problems.errors and not page.console_errors, page.problems.errors + page.console_errors
    finally:
        page.context.close()


def test_refusals_state_the_limits_from_the_server(browser, live_service, small_gateway, tmp_path):
    limits = requests.get(small_gateway + "/limits", timeout=10).json()
    assert limits["max_image_pixels"] == 2_500_000 and limits["max_upload_bytes"] == 1_048_576
    page = open_page(browser, small_gateway)
    try:
        # The server refuses it (413, too_many_pixels); the sentence carries /limits' number.
        wide = tmp_path / "wide.png"
        wide.write_bytes(png_claiming(2_000, 2_000))
        assert refusal(page, [wide]) == "That image has too many pixels (limit 2.5 megapixels)."
        assert page.traffic.posts, "the pixel check is the server's: the file must have been sent"
        assert page.is_hidden("#job") and page.is_enabled("#submit")

        # Too large or too many files: refused before sending, with /limits' numbers.
        page.traffic.posts.clear()
        big = tmp_path / "big.png"
        big.write_bytes(png_claiming(100, 100) + bytes(1_200_000))
        assert refusal(page, [big]) == "That file is too large (limit 1 MB)."
        small = [tmp_path / f"small{i}.png" for i in range(3)]
        for path in small:
            path.write_bytes(png_claiming(10, 10))
        assert refusal(page, small) == "That is too many files (limit 2 per job)."
        assert not page.traffic.posts, page.traffic.posts
        assert page.is_hidden("#job") and page.is_enabled("#submit")
        assert not page.problems.errors, page.problems.errors
    finally:
        page.context.close()

    # The default gateway states its own default the same way.
    default_mp = requests.get(live_service.url("/limits"), timeout=10).json()["max_image_pixels"] / 1e6
    page = open_page(browser, live_service.base_url)
    try:
        huge = tmp_path / "huge.png"
        huge.write_bytes(png_claiming(9_000, 9_000))
        expected = f"That image has too many pixels (limit {default_mp:g} megapixels)."
        assert refusal(page, [huge]) == expected
    finally:
        page.context.close()


def test_without_limits_the_page_still_works(browser, live_service, tmp_path, text_png):
    page = open_page(browser, live_service.base_url, limits_status=500)
    try:
        # Refusals read as the server words them.
        huge = tmp_path / "huge.png"
        huge.write_bytes(png_claiming(9_000, 9_000))
        message = refusal(page, [huge])
        assert re.fullmatch(r"The image is 9000x9000 = 81000000 pixels; the limit is \d+ pixels\.", message), message
        # And a job still ends: final once the server stamps it finished.
        hello = tmp_path / "hello.png"
        hello.write_bytes(text_png)
        page.set_input_files("#file-input", str(hello))
        page.click("#submit")
        wait_for_state(page, "succeeded")
        assert page.is_hidden("#cancel") and page.is_hidden("#progress") and page.is_enabled("#submit")
        assert "HELLO" in " ".join(page.locator("li.line .line-text").all_inner_texts()).upper()
        assert not page.problems.errors, page.problems.errors
    finally:
        page.context.close()
