"""The web UI draws a page's layout: each block framed under the line boxes, with its
reading-order number and type, on a rendered two-column page (headless Chromium, live stack)."""
from __future__ import annotations

from tests.core import layoutpage

from .helpers import wait_for_state


def test_blocks_are_drawn_numbered_in_reading_order(ui, tmp_path, artifacts):
    page = ui
    path = tmp_path / "two-columns.png"
    path.write_bytes(layoutpage.two_column_page().png())
    page.set_input_files("#file-input", str(path))
    page.click("#submit")
    wait_for_state(page, "succeeded")
    blocks = page.locator("svg.overlay g.block")
    labels = page.locator("svg.overlay g.block text.block-label").all_text_contents()
    assert blocks.count() == len(labels) >= 10
    assert labels[0] == "1 header" and labels[1] == "2 heading" and labels[-1].endswith("footer")
    assert [label.split(" ", 1)[0] for label in labels] == [str(n) for n in range(1, len(labels) + 1)]
    assert any(label.endswith("table") for label in labels) and sum("list item" in x for x in labels) == 2
    # The paragraphs' frames come in column order: the left column's two before the right's.
    lefts = [float(page.locator("svg.overlay g.block-paragraph rect").nth(k).get_attribute("x")) for k in range(4)]
    assert lefts[0] < 600 and lefts[1] < 600 and lefts[2] > 600 and lefts[3] > 600
    # The line boxes stay on top, so a click still selects a line.
    assert page.locator("svg.overlay polygon.box").count() > 20
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "ui-layout.png"), full_page=True)
