"""GET /docs: Swagger UI from the packaged copy renders this server's operations in Chromium,
under the gateway's own CSP, without a single request leaving the server."""
from __future__ import annotations

import pytest

from web import SECURITY_HEADERS

from .conftest import PageProblems

# The operations the reference must show, as Swagger UI labels them.
OPERATIONS = {("POST", "/ocr"), ("POST", "/jobs"), ("GET", "/jobs/{job_id}"), ("DELETE", "/jobs/{job_id}"),
              ("GET", "/limits"), ("GET", "/models"), ("GET", "/readyz")}


@pytest.fixture
def docs_page(browser, live_service):
    """A fresh page on /docs that records every request and every CSP violation, and blocks
    (and records) any request to another origin."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    base = live_service.base_url.rstrip("/")
    page.requests, page.external, page.violations = [], [], []
    page.problems = PageProblems()
    page.problems.watch(page)

    def route(route):
        if route.request.url.startswith(base + "/") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            page.external.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page.on("request", lambda request: page.requests.append(request.url))
    # The page's own report of every CSP violation (a binding, so the CSP cannot block it).
    page.expose_function("reportCspViolation", lambda text: page.violations.append(text))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "window.reportCspViolation(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')));"
    )
    page.base = base
    yield page
    context.close()


def test_docs_render_the_operations_under_the_csp_without_external_requests(docs_page, artifacts):
    page = docs_page
    response = page.goto(page.base + "/docs")
    assert response is not None and response.ok
    assert response.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    page.wait_for_selector(".opblock", state="visible")
    page.wait_for_load_state("networkidle")

    shown = set()
    for block in page.query_selector_all(".opblock-summary"):
        method = block.query_selector(".opblock-summary-method").inner_text().strip()
        path = block.query_selector(".opblock-summary-path").inner_text().strip().replace("\u200b", "")
        shown.add((method, path))
    assert OPERATIONS <= shown, OPERATIONS - shown
    assert "OCR service" in page.inner_text(".info .title")

    # Open an operation: its parameters and responses render (Swagger's highlighted code and
    # models included) and the CSP still has nothing to refuse.
    page.click(".opblock-post .opblock-summary-path[data-path='/jobs']")
    page.wait_for_selector(".opblock.is-open .responses-table")
    page.screenshot(path=str(artifacts / "docs.png"), full_page=False)
    assert "202" in page.inner_text(".opblock.is-open .responses-table")
    page.wait_for_load_state("networkidle")

    assert not page.external, f"requests left the server: {page.external}"
    assert all(url.startswith(page.base + "/") or url.startswith("data:") for url in page.requests), page.requests
    assert page.base + "/docs/swagger-ui/swagger-ui-bundle.js" in page.requests
    assert page.base + "/docs/init.js" in page.requests
    assert page.base + "/openapi.json" in page.requests
    assert not page.violations, page.violations
    assert not page.problems.errors, page.problems.errors


def test_the_web_ui_links_to_the_docs(ui, live_service):
    link = ui.locator("footer a[href='/docs']")
    assert link.count() == 1
    link.click()
    ui.wait_for_url(live_service.base_url.rstrip("/") + "/docs")
    ui.wait_for_selector(".opblock", state="visible")
