"""The web UI showing hostile OCR text (tests/xss.py) in real Chromium: an image that reads as
HTML and Markdown is OCRed for real; its lines and its html, hocr and markdown documents show
literally, no element comes from them, and no script runs (alert is watched, CSP violations and
page errors fail the `ui` fixture)."""
from __future__ import annotations

import pytest

from tests.conftest import render_text_image
from tests.xss import PAYLOADS

from .helpers import wait_for_state

WATCH = """
window.__dialogs = [];
for (const name of ['alert', 'confirm', 'prompt']) {
  window[name] = (message) => { window.__dialogs.push(name + ':' + String(message)); };
}
"""
# Elements the payloads would create if any text were parsed as markup.
INJECTED = "img[src='x'], script:not([src]), iframe, a[href^='javascript' i], [onerror], [onload]"


@pytest.fixture(scope="module")
def payload_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("xss") / "payloads.png"
    path.write_bytes(render_text_image(PAYLOADS, size=56))
    return path


def assert_inert(page, dialogs: list[str]) -> None:
    assert page.locator(INJECTED).count() == 0, page.content()[:3000]
    assert page.evaluate("window.__dialogs") == [] and dialogs == []


def test_payload_lines_show_literally_and_nothing_runs(ui, payload_png, artifacts):
    page = ui
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(WATCH)
    page.reload()
    page.wait_for_selector("#model option:nth-child(2)", state="attached")
    scripts_before = page.locator("script").count()

    page.set_input_files("#file-input", str(payload_png))
    page.click("#submit")
    wait_for_state(page, "succeeded")
    page.wait_for_selector("li.line .line-text")
    assert page.locator("li.line .line-text").all_inner_texts() == PAYLOADS
    # The overlay's titles (hover text) carry the same strings as text, not markup.
    titles = page.locator("svg.overlay title").all_text_contents()
    assert sorted(titles) == sorted(PAYLOADS)
    page.hover("li.line:nth-child(1)")
    page.screenshot(path=str(artifacts / "ui-xss-lines.png"), full_page=True)
    assert page.locator("script").count() == scripts_before
    assert_inert(page, dialogs)


@pytest.mark.parametrize("output_format", ["html", "hocr", "markdown"])
def test_payload_documents_show_as_source_text(ui, payload_png, output_format):
    page = ui
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(WATCH)
    page.reload()
    page.wait_for_selector("#model option:nth-child(2)", state="attached")

    page.set_input_files("#file-input", str(payload_png))
    page.select_option("#output-format", output_format)
    page.click("#submit")
    wait_for_state(page, "succeeded")
    page.wait_for_selector("#raw:not([hidden])")
    shown = page.inner_text("#raw-output")
    # The document is shown as its source: the escaped markup, as text.
    if output_format == "markdown":
        assert "\\<img src=x onerror=alert(1)>" in shown and "\\[click](javascript:alert(4))" in shown  # an escaped [ makes no link
    elif output_format == "html":
        assert "&lt;img src=x onerror=alert(1)&gt;" in shown and "&lt;/span&gt;&lt;script&gt;" in shown
    else:  # hOCR: a span per word
        assert ">&lt;img</span>" in shown and ">onerror=alert(1)&gt;</span>" in shown
        assert ">&lt;/span&gt;&lt;script&gt;alert(2)&lt;/script&gt;</span>" in shown
    assert page.locator("#raw-output *").count() == 0  # text only, no element inside the <pre>
    assert_inert(page, dialogs)
