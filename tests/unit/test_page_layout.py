"""ocrcore.layout, step by step, on small constructed line boxes (no OCR, no pixels).

Each test builds the boxes a page of that shape gives and checks the part of the layout
it is about: columns and their order, furniture, paragraphs, headings, lists, tables.
"""
from __future__ import annotations

import math
import random
import time

from ocrcore.layout import Rulings, analyze_document, analyze_page
from ocrcore.types import TextLine

W, H = 1240, 1754


def line(text: str, x0: float, y0: float, x1: float, y1: float, angle: float = 0.0) -> TextLine:
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if angle:
        cx, cy, cos, sin = W / 2, H / 2, math.cos(angle), math.sin(angle)
        corners = [(cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos) for x, y in corners]
    return TextLine(text, 0.99, [[int(round(x)), int(round(y))] for x, y in corners])


def column(name: str, x0: int, x1: int, top: int, count: int, step: int = 32, height: int = 24,
           gap_after: tuple[int, ...] = ()) -> list[TextLine]:
    """Lines of body text (about 12 px a character at 24 px high), ragged on the right."""
    out, y = [], top
    for k in range(count):
        right = x1 - (k % 3) * 40
        words = f"{name} line {k}"
        while len(words) < (right - x0) / 12:
            words += " text"
        out.append(line(words, x0, y, right, y + height))
        y += step + (30 if k in gap_after else 0)
    return out


def texts(layout) -> list[str]:
    return [block.text for block in layout.blocks]


def order_of(layout, names: list[str]) -> list[str]:
    """Which of `names` each line starts with, in the layout's reading order, runs collapsed."""
    seen: list[str] = []
    for ln in layout.lines:
        name = next((n for n in names if ln.text.startswith(n)), None)
        if name and (not seen or seen[-1] != name):
            seen.append(name)
    return seen


def shuffled(lines: list[TextLine]) -> list[TextLine]:
    lines = list(lines)
    random.Random(7).shuffle(lines)
    return lines


def test_two_columns_under_a_spanning_title_read_column_by_column():
    lines = [line("A Title Across Both Columns", 300, 100, 940, 150)]
    lines += column("left", 110, 590, 200, 20, gap_after=(6, 13)) + column("right", 650, 1130, 200, 20, gap_after=(6, 13))
    layout = analyze_page(shuffled(lines), W, H)
    assert order_of(layout, ["A Title", "left", "right"]) == ["A Title", "left", "right"]
    assert layout.blocks[0].type == "heading"
    assert [b.type for b in layout.blocks[1:]] == ["paragraph"] * 6  # paragraph gaps align: not cut into rows


def test_three_columns_with_ragged_right_edges():
    lines = []
    for name, x0 in (("first", 110), ("second", 450), ("third", 790)):
        lines += column(name, x0, x0 + 320, 150, 25)
    layout = analyze_page(shuffled(lines), W, H)
    assert order_of(layout, ["first", "second", "third"]) == ["first", "second", "third"]


def test_one_then_two_then_one_columns():
    lines = column("intro", 110, 1130, 120, 4)
    lines += column("left", 110, 590, 300, 8) + column("right", 650, 1130, 300, 8)
    lines += column("closing", 110, 1130, 620, 4)
    lines += column("lower-left", 110, 590, 800, 6) + column("lower-right", 650, 1130, 800, 6)
    layout = analyze_page(shuffled(lines), W, H)
    names = ["intro", "left", "right", "closing", "lower-left", "lower-right"]
    assert order_of(layout, names) == names


def test_a_column_heading_beside_the_other_columns_first_line_stays_in_its_column():
    # The heading's box ends where the right column's second (short) line begins, so the
    # first strip holds only the heading and the right column's first line; the next strip
    # has one line on each side, and a short heading above a long line is still a column.
    lines = column("intro", 110, 1130, 120, 4)
    lines += [line("2 Methods", 110, 300, 200, 336), line("right-a text text text text text text text", 650, 300, 1130, 324),
              line("right-b short", 650, 336, 830, 360)]
    lines += column("left", 110, 590, 350, 6) + column("right", 650, 1130, 376, 5)
    layout = analyze_page(shuffled(lines), W, H)
    names = ["intro", "2 Methods", "left", "right-a", "right-b", "right"]
    assert order_of(layout, names) == names


def test_a_title_beside_a_masthead_is_read_before_the_columns_under_them():
    # The masthead sits over the third column only, set off from the body by a blank band:
    # read with the title first, not between the second column and its run-on in the third.
    lines = [line("Proposed Rules", 110, 80, 420, 130), line("Gazette", 790, 86, 950, 110),
             line("Vol. 85, No. 152", 790, 116, 1000, 140), line("Thursday, August 6", 790, 146, 1030, 170)]
    for name, x0 in (("first", 110), ("second", 450), ("third", 790)):
        lines += column(name, x0, x0 + 320, 240, 25)
    layout = analyze_page(shuffled(lines), W, H)
    names = ["Proposed", "Gazette", "Vol.", "Thursday", "first", "second", "third"]
    assert order_of(layout, names) == names
    # Under a spanning title the columns still read in turn (the head is cut off, not the columns).
    two = [line("A Title Across Both Columns", 300, 100, 940, 150)]
    two += column("left", 110, 590, 240, 20) + column("right", 650, 1130, 240, 20)
    assert order_of(analyze_page(shuffled(two), W, H), ["A Title", "left", "right"]) == ["A Title", "left", "right"]


def test_a_skewed_page_still_reads_column_by_column():
    angle = math.radians(1.0)
    lines = [line(t.text, *_box(t), angle=angle) for t in column("left", 110, 590, 200, 25, step=30)]
    lines += [line(t.text, *_box(t), angle=angle) for t in column("right", 650, 1130, 200, 25, step=30)]
    layout = analyze_page(shuffled(lines), W, H)
    assert order_of(layout, ["left", "right"]) == ["left", "right"]


def _box(ln: TextLine) -> tuple[int, int, int, int]:
    xs, ys = [p[0] for p in ln.bounding_box], [p[1] for p in ln.bounding_box]
    return min(xs), min(ys), max(xs), max(ys)


def test_receipt_rows_read_across_not_down():
    """Labels and amounts are not two columns of text: each row reads label then amount."""
    lines = []
    for k, (label, amount) in enumerate([("TEA", "3.50"), ("COFFEE LARGE", "4.20"), ("CAKE", "5.00"),
                                         ("SUBTOTAL", "12.70"), ("TAX", "0.76"), ("TOTAL", "13.46")]):
        y = 300 + 40 * k
        lines += [line(label, 60, y, 60 + 22 * len(label), y + 28), line(amount, 560, y, 640, y + 28)]
    layout = analyze_page(shuffled(lines), 700, 1000)
    assert [ln.text for ln in layout.lines][:4] == ["TEA", "3.50", "COFFEE LARGE", "4.20"]


def test_headers_footers_and_page_numbers_are_marked_not_body():
    lines = [line("Journal of Examples, Vol. 3", 110, 50, 420, 68), line("12", 610, 1690, 630, 1708)]
    lines += column("body", 110, 1130, 200, 20)
    layout = analyze_page(lines, W, H)
    kinds = {b.text: b.type for b in layout.blocks}
    assert kinds["Journal of Examples, Vol. 3"] == "header" and kinds["12"] == "footer"
    assert layout.lines[0].text.startswith("Journal") and layout.lines[-1].text == "12"


def test_a_running_head_ruled_off_from_the_body_is_furniture_but_not_a_boxed_tables_first_row():
    """A running head close over the title (a detector's loose boxes leave a gap under one
    line height) is known by the rule under it; the top edge of a box drawn round a table
    with its first row over it is no such rule."""
    head = [line("Layout benchmark pages", 112, 41, 349, 70), line("Field Notes on Scanned Pages", 864, 46, 1140, 74)]
    body = [line("Field Notes on Scanned Pages", 110, 108, 880, 160)] + column("body", 110, 1130, 200, 20)
    rule = Rulings(horizontal=((110, 83, 1138),))
    kinds = {b.text: b.type for b in analyze_page(head + body, W, H, rule).blocks}
    assert kinds["Layout benchmark pages"] == "header", kinds
    assert not any(k == "header" for t, k in kinds.items() if t.startswith("Field Notes"))
    assert "header" not in {b.type for b in analyze_page(head + body, W, H).blocks}  # no rule: too close
    boxed = Rulings(horizontal=((110, 83, 1138), (110, 900, 1138)), vertical=((110, 83, 900), (1138, 83, 900)))
    assert "header" not in {b.type for b in analyze_page(head + body, W, H, boxed).blocks}


def test_folios_and_form_stamps_close_under_the_body_are_footers():
    """A handbook's "7-45" and a form's "Catalog No. 12345A" sit just under the text, too close
    to be set off by the gap alone; a last body line that starts like a stamp stays body."""
    for stamp in ("7-45", "A-3", "Catalog No. 12345A", "Form W-4 (2020)"):
        lines = column("body", 110, 1130, 1120, 14) + [line("Form the basis of the last line", 110, 1570, 560, 1594)]
        lines.append(line(stamp, 560, 1610, 560 + 14 * len(stamp), 1630))
        layout = analyze_page(lines, W, H)
        kinds = {b.text: b.type for b in layout.blocks}
        assert kinds[stamp] == "footer", (stamp, kinds)
        assert not any(t.startswith("Form the basis") and k == "footer" for t, k in kinds.items())


def test_a_vertical_stamp_beyond_the_text_is_furniture_and_so_is_the_foot_line_it_overlaps():
    # A typesetter's slug up the left margin, 14% of the page high, reaching down beside a
    # foot line whose pieces cross the gutter: both are furniture, and the columns read in turn.
    lines = column("left", 110, 590, 200, 40) + column("right", 650, 1130, 200, 40)
    lines.append(line("jdoe on HOST42XYZ with DRAFTS", 40, 1440, 56, 1690))
    lines += [line(f"Frm 0000{k}", 80 + 170 * k, 1670, 220 + 170 * k, 1686) for k in range(6)]
    layout = analyze_page(shuffled(lines), W, H)
    kinds = {b.text: b.type for b in layout.blocks}
    assert kinds["jdoe on HOST42XYZ with DRAFTS"] == "header"
    assert all(kinds[f"Frm 0000{k}"] == "footer" for k in range(6))
    assert order_of(layout, ["left", "right"]) == ["left", "right"]
    # A vertical label inside the text (a rotated table heading) is not a stamp, nor one at the
    # text's very edge that the lines under it start within.
    inside = column("body", 40, 1130, 200, 40) + [line("Quarterly totals", 60, 700, 76, 960)]
    assert {b.text: b.type for b in analyze_page(inside, W, H).blocks}.get("Quarterly totals") != "header"
    edge = column("body", 50, 1130, 200, 40) + [line("Quarterly totals", 44, 700, 62, 960)]
    assert {b.text: b.type for b in analyze_page(edge, W, H).blocks}.get("Quarterly totals") != "header"


def test_a_foot_line_holding_a_stamp_and_a_web_address_is_furniture_when_set_apart():
    # The body ends at y 1560: the foot line stands 1.5 line heights under it, closer than the
    # 2 that set off a row with no stamp in it.
    body = column("left", 110, 590, 1120, 14) + column("right", 650, 1130, 1120, 14)
    foot = [line("www.example.gov", 110, 1596, 300, 1616), line("Catalog No. 12345A", 900, 1596, 1130, 1616)]
    kinds = {b.text: b.type for b in analyze_page(body + foot, W, H).blocks}
    assert kinds["www.example.gov"] == kinds["Catalog No. 12345A"] == "footer"
    # A total row of bare numbers as far under the body is a table's last row, not furniture.
    total = [line("Total", 110, 1596, 200, 1616), line("412", 700, 1596, 760, 1616),
             line("1038", 900, 1596, 980, 1616)]
    kinds = {b.text: b.type for b in analyze_page(body + total, W, H).blocks}
    assert "footer" not in kinds.values(), kinds
    # The columns' last lines, one of them a bare year, at line spacing: body text.
    last = [line("closing words of the left column", 110, 1568, 500, 1592), line("2011", 650, 1568, 700, 1592)]
    kinds = {b.text: b.type for b in analyze_page(body + last, W, H).blocks}
    assert "footer" not in kinds.values(), kinds


def test_a_running_head_recurring_across_pages_is_furniture_even_close_to_the_body():
    class Page:
        def __init__(self, number: int):
            self.lines = [line("ANNUAL REPORT 2024", 110, 120, 400, 140), line(f"Page {number} of 3", 560, 1650, 700, 1670)]
            self.lines += column(f"p{number}", 110, 1130, 160, 20)
            self.width, self.height, self.rulings = W, H, None

    layouts = analyze_document([Page(n) for n in (1, 2, 3)])
    for layout in layouts:
        assert [b.type for b in layout.blocks if b.text.startswith(("ANNUAL", "Page"))] == ["header", "footer"]
    # One page alone: the same head, 20 px over the body, is body text.
    single = analyze_page(Page(1).lines, W, H)
    assert [b.type for b in single.blocks if b.text.startswith("ANNUAL")] == ["paragraph"]


def test_hyphenated_words_are_joined_and_a_paragraph_runs_on_into_the_next_column():
    lines = column("pad-left", 110, 590, 200, 10)
    lines += [line("The results of the experiment were experi-", 110, 560, 590, 584),
              line("ment and so clear that the whole of the", 110, 592, 590, 616),
              line("analysis went on and on and went on for", 110, 624, 590, 648),
              line("several more weeks in the spring.", 650, 200, 1040, 224),
              line("A new paragraph starts here and it runs", 650, 280, 1130, 304),
              line("to the end of the column for sure.", 650, 312, 1040, 336)]
    lines += column("pad-right", 650, 1130, 400, 10)
    layout = analyze_page(lines, W, H)
    first = layout.blocks[1]
    assert first.text == ("The results of the experiment were experiment and so clear that the whole of the analysis "
                          "went on and on and went on for")
    assert first.continued and not layout.blocks[2].continued
    assert layout.blocks[2].text == "several more weeks in the spring."
    from ocrcore.formats import PageResult, to_markdown

    markdown = to_markdown([PageResult(1, W, H, "ocr", lines)])
    assert "went on for several more weeks in the spring.\n\nA new paragraph" in markdown


def test_headings_by_size_and_numbering_get_levels():
    lines = [line("Big Document Title", 110, 80, 900, 150),
             line("Section Heading", 110, 200, 470, 236),
             *column("a", 110, 1130, 260, 4),
             line("2.1 Numbered Subsection", 110, 420, 420, 444),
             *column("b", 110, 1130, 470, 4)]
    layout = analyze_page(lines, W, H)
    headings = [(b.text, b.level) for b in layout.blocks if b.type == "heading"]
    assert headings == [("Big Document Title", 1), ("Section Heading", 2), ("2.1 Numbered Subsection", 3)]


def test_a_papers_title_a_little_larger_than_its_sections_is_over_them_and_references_beside_them():
    """Box heights of one heading style vary by 10-20% (1.21-1.33 body lines here): the
    first heading, unnumbered and larger than the sections' median, is the title; an
    unnumbered heading of the sections' size ("References") is at their level; a large
    ellipsis standing alone is no heading."""
    lines = [line("Information Synthesis for Answer Validation", 110, 80, 1000, 113),
             line("1 Introduction and Related Work", 110, 160, 600, 189), *column("a", 110, 1130, 210, 4),
             line("2 The System", 110, 360, 330, 391), *column("b", 110, 1130, 410, 4),
             line("2.1 Preprocessing", 110, 560, 360, 583), *column("c", 110, 1130, 610, 4),
             line("…", 600, 760, 640, 793), *column("d", 110, 1130, 830, 4),
             line("3 Conclusion", 110, 990, 330, 1022), *column("e", 110, 1130, 1040, 4),
             line("References", 110, 1190, 300, 1220), *column("f", 110, 1130, 1240, 3)]
    headings = [(b.text, b.level) for b in analyze_page(lines, W, H).blocks if b.type == "heading"]
    assert headings == [("Information Synthesis for Answer Validation", 1), ("1 Introduction and Related Work", 2),
                        ("2 The System", 2), ("2.1 Preprocessing", 3), ("3 Conclusion", 2), ("References", 2)]


def test_a_column_beside_a_charts_small_labels_is_read_whole_after_the_chart():
    """A chart's ticks and legends beside a column of text: the gutter between them is a
    column break (the labels are not rows to read across into the column), and the column's
    first lines, above the chart's top, stay with the rest of it."""
    rng = random.Random(3)
    labels = [line(f"{rng.randint(0, 9)}.{rng.randint(0, 9)}", x, y, x + 24, y + 15)
              for y in range(720, 1300, 40) for x in (rng.randint(230, 300), rng.randint(600, 680))]
    caption = [line(f"Figure 1: caption line {k} text text text", 220, 1450 + 32 * k, 748, 1474 + 32 * k)
               for k in range(3)]
    prose = column("right", 811, 1455, 614, 34)
    full = column("wide", 200, 1455, 500, 3)
    layout = analyze_page(shuffled(full + labels + caption + prose), W, H)
    order = [ln.text for ln in layout.lines]
    rights = [k for k, text in enumerate(order) if text.startswith("right")]
    assert rights == list(range(rights[0], rights[0] + len(prose))), "the column is read in one run"
    assert order.index(caption[0].text) < rights[0]
    assert all(order.index(ln.text) < rights[0] for ln in full)


def test_a_list_of_terms_beside_their_descriptions_reads_across():
    """Terms in the body's type beside descriptions: rows, not two columns."""
    lines = []
    for k in range(8):
        y = 300 + 80 * k
        lines.append(line(f"Term{k}", 110, y, 230, y + 24))
        lines += [line(f"desc{k} first line of the description text text text text", 400, y, 1130, y + 24),
                  line(f"desc{k} second line of it text text text text text text", 400, y + 32, 1130, y + 56)]
    order = [ln.text for ln in analyze_page(shuffled(lines), W, H).lines]
    for k in range(7):  # each term with its description, then the next term
        assert order.index(f"desc{k} second line of it text text text text text text") < order.index(f"Term{k + 1}")


def test_chinese_numbered_headings_at_body_size_stand_alone():
    # "1.1 抽样" is bold but measures as body text; the recogniser drops the space in "1引言".
    body = "我冒了严寒回到相隔二千余里别了二十余年的故乡去时候既然是深冬渐近故乡时天气又阴晦了冷风吹进"
    lines = [line("页面结构概览", 110, 80, 400, 124), line("1引言", 110, 160, 196, 190),
             line(body, 156, 210, 1120, 236), line(body[:20] + "。", 110, 244, 560, 270),
             line("1.1 抽样", 110, 300, 200, 327), line(body, 156, 344, 1120, 370), line(body, 110, 378, 1120, 404),
             line("12月3日", 110, 440, 220, 466), line(body, 110, 474, 1120, 500)]
    layout = analyze_page(lines, W, H)
    headings = [(b.text, b.level) for b in layout.blocks if b.type == "heading"]
    assert headings == [("页面结构概览", 1), ("1引言", 2), ("1.1 抽样", 3)]
    assert [b.type for b in layout.blocks][-1] == "paragraph"  # a date is not a section number


def test_lists_bulleted_numbered_and_with_hanging_lines():
    lines = [line("• apples from the market", 110, 200, 500, 224),
             line("• pears, which need a second line to", 110, 236, 560, 260),
             line("say what they are", 140, 268, 400, 292),
             line("1. first step to take", 110, 340, 450, 364), line("2) second step to take", 110, 376, 460, 400),
             line("a. lettered step", 110, 412, 400, 436),
             line("-- not a bullet but a dash pair", 110, 480, 700, 504)]
    layout = analyze_page(lines, W, H)
    items = [(b.text, b.ordered, b.marker) for b in layout.blocks if b.type == "list_item"]
    assert items == [("• apples from the market", False, "•"),
                     ("• pears, which need a second line to say what they are", False, "•"),
                     ("1. first step to take", True, "1."), ("2) second step to take", True, "2)"),
                     ("a. lettered step", True, "a.")]
    assert layout.blocks[-1].type == "paragraph"


def test_a_list_item_runs_on_into_the_next_column():
    lines = [*column("a", 110, 590, 200, 5), line("2. The quarterly report was filed by the", 110, 400, 580, 424),
             line("filed on 14 March at noon, two days early.", 650, 200, 1100, 224),
             *column("b", 650, 1130, 260, 5)]
    layout = analyze_page(lines, W, H)
    item = next(b for b in layout.blocks if b.type == "list_item")
    assert item.continued
    from ocrcore.formats import PageResult, to_markdown

    markdown = to_markdown([PageResult(1, W, H, "ocr", lines)])
    assert "2. The quarterly report was filed by the filed on 14 March at noon, two days early.\n\nb line 0" in markdown


def test_bullet_marks_before_lines_but_not_a_letter_sticking_out_of_the_line_beside():
    lines = [line("a column line that ends in a full stop.", 110, 200, 580, 224),
             line("the right column's line goes on", 650, 200, 1100, 224),
             line("apples from the market", 146, 260, 500, 284)]
    marks = ((582, 206, 592, 216),  # the stop's blob past the detector's box, left of the next column
             (112, 266, 124, 278))  # a bullet before its line
    layout = analyze_page(lines, W, H, Rulings((), (), marks))
    assert sorted(texts(layout)) == ["a column line that ends in a full stop.", "the right column's line goes on",
                                     "• apples from the market"]


def test_a_caption_is_typed():
    lines = [*column("a", 110, 1130, 200, 3), line("Figure 3: The measured throughput", 110, 360, 600, 384),
             *column("b", 110, 1130, 430, 3)]
    assert [b.type for b in analyze_page(lines, W, H).blocks] == ["paragraph", "caption", "paragraph"]


def _grid(x_bounds, y_bounds, skip_v=()):
    """Rulings of a full grid; `skip_v` lists (row, boundary) pairs with no vertical ruling."""
    horizontal = tuple((x_bounds[0], y, x_bounds[-1]) for y in y_bounds)
    vertical = []
    for c, x in enumerate(x_bounds):
        for r in range(len(y_bounds) - 1):
            if (r, c) not in skip_v:
                vertical.append((x, y_bounds[r], y_bounds[r + 1]))
    return Rulings(horizontal, tuple(vertical))


def test_a_ruled_table_with_an_empty_cell_and_a_spanning_header():
    xs, ys = [100, 400, 700, 1000], [500, 550, 600, 650, 700]
    cells = {(0, 0): "Fruit", (0, 1): "Prices in 2024", (1, 0): "Item", (1, 1): "Spring", (1, 2): "Autumn",
             (2, 0): "Apple", (2, 1): "1.20", (3, 0): "Pear", (3, 1): "0.80", (3, 2): "0.95"}
    lines = [line(text, xs[c] + 10, ys[r] + 12, xs[c] + 10 + 14 * len(text), ys[r] + 36) for (r, c), text in cells.items()]
    layout = analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, _grid(xs, ys, skip_v={(0, 2)}))
    (table,) = [b.table for b in layout.blocks if b.table is not None]
    assert (table.rows, table.cols, table.ruled) == (4, 3, True)
    assert table.grid() == [["Fruit", "Prices in 2024", ""], ["Item", "Spring", "Autumn"],
                            ["Apple", "1.20", ""], ["Pear", "0.80", "0.95"]]
    spanning = next(c for c in table.cells if c.text == "Prices in 2024")
    assert spanning.colspan == 2
    assert len(table.cells) == 11  # 12 positions, one covered by the span


def test_a_boxed_table_ruled_only_under_its_header_is_cut_into_its_records():
    """Statistical tables rule the header off and box the body, not every row: the band of
    records is cut at its text rows and at the gaps all of them leave; dotted leaders go."""
    header = [("Offense", 110), ("Total", 450), ("Male", 750)]
    records = [("Robbery . . . . . .", "102.1", "88.0"), ("Fraud . . . . . . .", "173.7", "101.2"),
               ("Vandalism . . . .", "217.4", "180.9"), ("Gambling . . . . .", "8.2", "7.5"),
               ("Arson . . . . . . .", "11.3", "9.4")]
    lines = [line(text, x, 512, x + 14 * len(text), 536) for text, x in header]
    for k, row in enumerate(records):
        y = 562 + 44 * k
        lines += [line(text, x, y, x + 14 * len(text), y + 24) for text, (_, x) in zip(row, header)]
    rulings = Rulings(((100, 500, 1000), (100, 550, 1000), (100, 790, 1000)), ((100, 500, 790), (1000, 500, 790)))
    layout = analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, rulings)
    (table,) = [b.table for b in layout.blocks if b.table is not None]
    grid = table.grid()
    assert grid[0] == ["Offense", "Total", "Male"]
    assert grid[1:] == [[label.rstrip(" .")] + rest for label, *rest in (list(r) for r in records)]


def test_a_line_crossing_a_ruling_is_split_at_its_words():
    from ocrcore.types import Word

    xs, ys = [100, 400, 700], [500, 550, 600, 650]
    merged = TextLine("Name Count", 0.99, [[110, 512], [470, 512], [470, 536], [110, 536]],
                      (Word("Name", [[110, 512], [180, 512], [180, 536], [110, 536]]),
                       Word("Count", [[410, 512], [470, 512], [470, 536], [410, 536]])))
    rows = [merged, line("Apple", 110, 562, 180, 586), line("3", 410, 562, 425, 586),
            line("Pear", 110, 612, 170, 636), line("12", 410, 612, 440, 636)]
    layout = analyze_page(rows, W, H, _grid(xs, ys))
    (table,) = [b.table for b in layout.blocks if b.table is not None]
    assert table.grid() == [["Name", "Count"], ["Apple", "3"], ["Pear", "12"]]


def test_a_borderless_table_with_empty_cells():
    rows = [("Region", "Units", "Revenue"), ("North", "120", "4,300"), ("South", "", "2,150"), ("East", "75", "")]
    lines = []
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            if text:
                x = (110, 560, 900)[c]
                lines.append(line(text, x, 500 + 40 * r, x + 15 * len(text), 524 + 40 * r))
    layout = analyze_page(column("above", 110, 1130, 200, 5) + lines + column("below", 110, 1130, 720, 4), W, H)
    (table,) = [b.table for b in layout.blocks if b.table is not None]
    assert not table.ruled and table.grid() == [list(row) for row in rows]
    assert [b.type for b in layout.blocks] == ["paragraph", "table", "paragraph"]


def test_two_columns_of_prose_are_not_a_table():
    lines = column("left", 110, 590, 200, 20) + column("right", 650, 1130, 200, 20)
    assert all(b.table is None for b in analyze_page(lines, W, H).blocks)


def test_chinese_columns_join_without_spaces():
    def cjk_column(text: str, x0: int) -> list[TextLine]:
        return [line(text * 14, x0, 200 + 36 * k, x0 + 14 * 28, 228 + 36 * k) for k in range(15)]

    layout = analyze_page(shuffled(cjk_column("左", 110) + cjk_column("右", 650)), W, H)
    assert order_of(layout, ["左", "右"]) == ["左", "右"]
    assert layout.blocks[0].text == "左" * 14 * 15


def test_vertical_text_keeps_the_order_it_came_in():
    lines = [line("竖排文字第一列内容", 1000 - 60 * k, 100, 1040 - 60 * k, 600) for k in range(8)]
    layout = analyze_page(lines, W, H)
    assert [ln.text for ln in layout.lines] == [ln.text for ln in lines]


def test_hostile_shapes_get_an_answer_quickly():
    assert analyze_page([], W, H).blocks == []
    only_blank = analyze_page([line("   ", 10, 10, 50, 30)], W, H)
    assert only_blank.blocks == [] and len(only_blank.lines) == 1
    rng = random.Random(3)
    tiny = [line(str(rng.randint(0, 9)), x, y, x + 6, y + 6)
            for x, y in ((rng.randint(0, W - 10), rng.randint(0, H - 10)) for _ in range(500))]
    overlapping = [line("overlap " * 5, 100 + k, 100 + k, 700 + k, 130 + k) for k in range(60)]
    for lines in (tiny, overlapping, tiny + overlapping):
        started = time.perf_counter()
        layout = analyze_page(lines, W, H, Rulings(((0, 500, W),), ((600, 0, H),)))
        assert time.perf_counter() - started < 2.0
        assert sorted(id(ln) for ln in layout.lines) == sorted(id(ln) for ln in lines)  # nothing lost
        assert sorted(k for b in layout.blocks for k in b.lines) == sorted(set(k for b in layout.blocks for k in b.lines))


def test_every_line_is_placed_once_in_reading_order():
    lines = column("left", 110, 590, 200, 12) + column("right", 650, 1130, 200, 12)
    layout = analyze_page(shuffled(lines), W, H)
    placed = [k for block in layout.blocks for k in block.lines]
    assert placed == list(range(len(lines)))


def test_a_column_heading_beside_the_other_columns_last_item_line_stays_in_its_column():
    # 1-2-1: under a table-wide line, the left column opens with a heading while the right
    # column opens with the last, short line of an item run on from the left column. That
    # strip and the next (the right column's short lines) do not show two columns by
    # themselves; the section below them does.
    lines = column("intro", 110, 1130, 120, 4)
    lines += [line("2 Methods", 110, 300, 200, 336), line("tail of the item.", 675, 298, 830, 322),
              line("• next item text text text text text text", 640, 338, 1117, 362),
              line("right-b short", 675, 370, 830, 394)]
    lines += column("left", 110, 590, 350, 8) + column("right", 640, 1130, 420, 5)
    layout = analyze_page(shuffled(lines), W, H)
    names = ["intro", "2 Methods", "left", "tail", "•", "right-b", "right"]
    assert order_of(layout, names) == names


def test_a_small_bullet_mark_before_a_chinese_line():
    # Ideographs fill the em: a "•" is ~0.22 of a CJK line's height (6 px at 26 px).
    lines = [line("报告里常见两级标题：一级是章节，二级是章节下面的小节。", 148, 200, 753, 226),
             line("条目换到第二行时，从缩进处接着写，而不是从圆点处开始。", 148, 239, 753, 265)]
    layout = analyze_page(lines, W, H, Rulings((), (), ((107, 210, 113, 216), (107, 249, 113, 255))))
    assert [(b.type, b.text[:2]) for b in layout.blocks] == [("list_item", "• "), ("list_item", "• ")]


def test_chinese_numbered_items_without_a_space_and_a_lone_numbered_heading():
    body = "我冒了严寒回到相隔二千余里别了二十余年的故乡去时候既然是深冬渐近故乡时天气又阴晦了冷风吹进"
    lines = [line("1.引言", 110, 160, 196, 186), line(body, 110, 210, 1120, 236), line(body[:20] + "。", 110, 244, 560, 270),
             *[line(t, 110, 300 + 39 * k, 110 + 22 * len(t), 326 + 39 * k)  # 22 px an ideograph, as the body's
               for k, t in enumerate(["1．图像本身并没有写明这个顺序。", "2.傍晚下了一场小雨。", "3、远处传来火车的汽笛声。",
                                      "（4）街上的路灯亮了。"])]]
    layout = analyze_page(lines, W, H)
    assert [(b.type, b.ordered) for b in layout.blocks] == [("heading", False), ("paragraph", False)] + [("list_item", True)] * 4
    from ocrcore.formats import PageResult, to_markdown

    markdown = to_markdown([PageResult(1, W, H, "ocr", lines)])
    assert "1. 图像本身" in markdown and "3. 远处" in markdown and "4. 街上" in markdown


def test_a_dash_wrapped_to_a_paragraphs_line_start_is_not_a_bullet():
    lines = [line("It is rather for us to be here dedicated to the great", 110, 200, 700, 224),
             line("task remaining before us text text text text text us", 110, 232, 700, 256),
             line("- that from these honored dead we take", 110, 264, 540, 288),
             line("increased devotion to that cause, the last full measure.", 110, 296, 690, 320),
             line("The list that follows has three parts:", 110, 360, 520, 384),
             line("- one part of the list", 110, 392, 400, 416)]
    layout = analyze_page(lines, W, H)
    assert [b.type for b in layout.blocks] == ["paragraph", "paragraph", "list_item"]
    assert "before us text text text text text us - that from" in layout.blocks[0].text


def test_a_line_after_a_comma_goes_on_though_its_box_measures_large():
    # The detector's box of a paragraph's inner line can be a fifth too tall: after a comma
    # the sentence goes on, it is not a heading.
    lines = [line("Tables are read across their rows, one cell", 110, 200, 560, 221),
             line("after another, but their meaning is lost,", 110, 229, 540, 250),
             line("since nobody can say any", 110, 256, 390, 283),
             line("longer which year or which region it is.", 110, 288, 540, 309)]
    layout = analyze_page(lines, W, H)
    assert [b.type for b in layout.blocks] == ["paragraph"]


def _numbered(x_right: int, top: int, numbers: list[int], pitch: int) -> list[TextLine]:
    """Bare line numbers, right-aligned at `x_right`, one every `pitch` px."""
    return [line(str(n), x_right - 12 * len(str(n)), top + k * pitch, x_right, top + k * pitch + 24)
            for k, n in enumerate(numbers)]


def test_a_transcripts_line_numbers_are_furniture_and_its_lines_read_as_text():
    """A transcript or a pleading numbers its double-spaced lines in the left margin, rows with
    no text numbered too: the numbers are marked (as margin furniture) and left out of the
    body, whose first line under the page's running head is no running head itself."""
    numbers = _numbered(150, 110, list(range(1, 15)), 72)
    body = column("testimony", 220, 1130, 110, 10, step=72)  # its first line in the top band
    head = [line("Official - Subject to Final Review", 420, 10, 820, 34)]
    layout = analyze_page(head + numbers + body, W, H)
    kinds = {b.text: b.type for b in layout.blocks}
    assert all(kinds.get(str(n)) == "header" for n in range(1, 15))
    assert [b.type for b in layout.blocks if not b.text.isdigit()] == ["header", "paragraph"]
    assert layout.blocks[-1].text.startswith("testimony line 0") and "testimony line 9" in layout.blocks[-1].text


def test_a_patents_gutter_line_numbers_do_not_bind_its_columns_into_rows():
    """Patents number every fifth line in the gutter: with the numbers out of it, the gutter
    is clear and the two columns read one after the other."""
    left = column("left", 110, 570, 200, 30, step=32)
    right = column("right", 660, 1130, 200, 30, step=32)
    numbers = [line(str(n), 600, 200 + 32 * (n - 1), 600 + 12 * len(str(n)), 224 + 32 * (n - 1)) for n in (5, 10, 15, 20, 25)]
    layout = analyze_page(left + right + numbers, W, H)
    assert order_of(layout, ["left", "right"]) == ["left", "right"]
    assert {b.type for b in layout.blocks if b.text.isdigit()} == {"header"}


def test_a_tables_row_numbers_and_a_contents_pages_page_numbers_are_text():
    """Bare numbers counting down a column are data when the rows beside them are cells (a
    ranking's "#" column) or when they stand at the right of what they number (a table of
    contents' page numbers)."""
    ranks = []
    for k, (name, score) in enumerate([("Oslo", "91"), ("Bern", "88"), ("Lima", "85"), ("Kyiv", "80"),
                                       ("Riga", "77"), ("Baku", "70")]):
        y = 300 + 40 * k
        ranks += [line(str(k + 1), 110, y, 122, y + 24), line(name, 300, y, 348, y + 24),
                  line(score, 600, y, 624, y + 24), line("final", 800, y, 860, y + 24)]
    contents = []
    for k, title in enumerate(["Introduction to the survey", "Methods of the survey", "Results by region",
                               "Discussion of the results", "Sources and notes", "Appendix of tables"]):
        y = 900 + 40 * k
        contents += [line(title, 110, y, 110 + 12 * len(title), y + 24), line(str(k + 1), 1100, y, 1112, y + 24)]
    layout = analyze_page(column("above", 110, 1130, 150, 3) + ranks + contents, W, H)
    assert not [b for b in layout.blocks if b.type == "header" and b.text.isdigit()]
    (table,) = [b.table for b in layout.blocks if b.table is not None and b.table.grid()[0][1] == "Oslo"] or [None]
    assert table is not None and [row[0] for row in table.grid()] == ["1", "2", "3", "4", "5", "6"]


def test_a_line_end_hyphen_goes_before_lower_case_and_stays_before_a_capital():
    from ocrcore.layout.blocks import join_lines

    assert join_lines(["a word hyphen-", "ated here"]) == "a word hyphenated here"
    assert join_lines(["landed at Soekarno-", "Hatta airport"]) == "landed at Soekarno-Hatta airport"
    assert join_lines(["the Kaukasus-", "Republiken"]) == "the Kaukasus-Republiken"
    assert join_lines(["prices rose -", "sharply"]) == "prices rose - sharply"  # a dash, not a hyphen


def test_a_page_number_alone_under_the_body_is_a_footer_though_higher_than_the_foot_band():
    """LaTeX's default margins set the folio ~16% of the page up from its foot; a number alone
    that high at the head (a chapter's) stays text."""
    lines = [line("1", 100, 300, 112, 324)] + column("body", 110, 1130, 400, 30, step=32)
    lines.append(line("7", 610, 1440, 622, 1464))  # 18% of the page up, a blank line under the body
    layout = analyze_page(lines, W, H)
    kinds = {b.text: b.type for b in layout.blocks}
    assert kinds["7"] == "footer" and kinds["1"] != "header"
