"""bench.layout's scorer on small hand-made answers: it must be able to fail."""
from __future__ import annotations

import pytest

pytest.importorskip("apted")
pytest.importorskip("rapidfuzz")

from bench import layoutscore as score  # noqa: E402
from bench.metrics import edit_distance  # noqa: E402

LEFT = ["The first column begins here and runs down the page.", "It ends with this sentence."]
RIGHT = ["The second column starts at the top.", "And it closes the page."]
TRUTH = [
    {"type": "heading", "level": 1, "text": "A Title Across the Page"},
    {"type": "heading", "level": 2, "text": "2.1 Methods"},
    {"type": "paragraph", "text": " ".join(LEFT)},
    {"type": "list_item", "ordered": False, "text": "a bullet item"},
    {"type": "list_item", "ordered": True, "text": "a numbered item"},
    {"type": "paragraph", "text": " ".join(RIGHT)},
    {"type": "table", "ruled": True, "rows": [["Region", "Year", "Note"], ["North", "2001", ""], ["South", "2002", "final"]]},
]


def perfect() -> str:
    return score.to_markdown(TRUTH)


def test_perfect_answer_scores_perfectly():
    answer = score.parse_markdown(perfect())
    assert score.order_distance(answer, TRUTH) == 0.0
    assert score.heading_counts(answer, TRUTH).f1 == 1.0
    assert score.list_counts(answer, TRUTH).f1 == 1.0
    tables = score.table_scores(answer, TRUTH)
    assert tables.cells["ruled"].f1 == 1.0 and tables.teds["ruled"] == [1.0]


def test_markdown_table_parses_with_header_row_and_empty_cell():
    (table,) = [b for b in score.parse_markdown(perfect()) if b["type"] == "table"]
    assert table["rows"] == [["Region", "Year", "Note"], ["North", "2001", ""], ["South", "2002", "final"]]


def test_interleaved_columns_score_badly():
    # the old top-to-bottom sort: the two columns' lines alternate
    words_left = " ".join(LEFT).split()
    words_right = " ".join(RIGHT).split()
    rows = [" ".join(words_left[i:i + 3] + words_right[i:i + 3]) for i in range(0, max(len(words_left), len(words_right)), 3)]
    body = [b for b in TRUTH if b["type"] == "paragraph"]
    answer = score.parse_markdown("\n".join(rows))
    assert score.order_distance(answer, body) > 0.3
    assert score.order_distance(score.parse_markdown(score.to_markdown(body)), body) == 0.0


def test_plain_text_gets_no_structure():
    answer = score.parse_markdown(score.block_text(TRUTH).replace("\n", "\n\n"))
    assert score.order_distance(answer, TRUTH) == 0.0  # the words are all there, in order
    assert score.heading_counts(answer, TRUTH).f1 == 0.0
    assert score.list_counts(answer, TRUTH).f1 == 0.0
    assert score.table_scores(answer, TRUTH).cells["ruled"].f1 == 0.0


def test_wrong_heading_level_and_list_kind_do_not_match():
    md = perfect().replace("## 2.1 Methods", "# 2.1 Methods").replace("1. a numbered item", "- a numbered item")
    answer = score.parse_markdown(md)
    assert score.heading_counts(answer, TRUTH).tp == 1
    assert score.list_counts(answer, TRUTH).tp == 1


def test_swapped_cells_lose_cell_f1_and_teds():
    md = perfect().replace("| North | 2001 |", "| 2001 | North |")
    tables = score.table_scores(score.parse_markdown(md), TRUTH)
    assert tables.cells["ruled"].tp == 6  # of 8 non-empty cells, the header row included
    assert tables.cells["ruled"].f1 == pytest.approx(0.75)
    assert 0.0 < tables.teds["ruled"][0] < 1.0


def test_dropped_empty_cell_shifts_the_row():
    md = perfect().replace("| North | 2001 |  |", "| North | 2001 |").replace("| South | 2002 | final |", "|  | South | 2002 | final |")
    tables = score.table_scores(score.parse_markdown(md), TRUTH)
    assert tables.cells["ruled"].f1 < 1.0


def test_distance_is_levenshtein():
    a, b = "kitten sitting on the mat", "sitting kitten on a mat"
    from rapidfuzz.distance import Levenshtein

    assert Levenshtein.distance(a, b) == edit_distance(a, b)


def test_unit_tests_pass_and_fail():
    answer = score.parse_markdown("Page 7 of 9\n\n" + perfect())
    assert score.run_test({"type": "present", "text": "The second column starts at the top."}, answer)
    assert not score.run_test({"type": "present", "text": "A sentence that is nowhere on the page."}, answer)
    assert not score.run_test({"type": "absent", "text": "Page 7 of 9"}, answer)
    assert score.run_test({"type": "absent", "text": "Page 8 of 9"}, answer)
    assert score.run_test({"type": "order", "before": "It ends with this sentence.", "after": "And it closes the page."}, answer)
    assert not score.run_test({"type": "order", "before": "And it closes the page.", "after": "It ends with this sentence."}, answer)
    assert score.run_test({"type": "table", "cell": "North", "right": "2001"}, answer)
    assert score.run_test({"type": "table", "cell": "North", "below": "South"}, answer)
    assert score.run_test({"type": "table", "cell": "final", "heading": "Note"}, answer)
    assert not score.run_test({"type": "table", "cell": "North", "right": "final"}, answer)
    plain = score.parse_markdown("Region Year Note\nNorth 2001\nSouth 2002 final")
    assert not score.run_test({"type": "table", "cell": "North", "right": "2001"}, plain)



# The USDA Ag Energy page as read (normalised, parts cut out), where "ethanol($/gal)" heads
# its section and recurs in "cme group ethanol ($/gal)" near the end: rapidfuzz's best
# alignment of the passage is the later occurrence.
RECURRING = (
    "nationalweeklyagenerethanol($/gal)8.0046.00iowa30.92-31.9231.94-33.1930.49-31.24iowasoybeanprocessor"
    "44.00minnesota31.17-31.9232.64-33.3930.33-31.08minneapolissoybeanprocessor42.0026.0024.0040.0038.00c"
    "entsib36.0034.0032.0030.0028.00crudecornoil(cents/lb)midwest(foodgrade)37.8837.7539.75-40.75centrali"
    "llinoiscornprocessorinediblepackerbleachabletallow($/cwt)chicago30.50unq28.00tallows,proteinsandhide"
    "sedibletallow($/cwt)chicagounq34.5030.50tallows,proteinsandhideschoicewhitegrease($/cwt)centralu.s.2"
    "3.50-25.0523.50-23.7520.00-20.50tallows,proteinsandhidesjfmamjjas0ndminneapolis23.75-25.5024.00-25.5"
    "021.00-24.50minneapolisweeklyfeedstuffs201720165yravgcentralu.s.minneapolisyellowgrease($/cwt)23.002"
    "2.50-24.5022.00-23.0022.50-24.5018.0018.50-23.00tallows,proteinsandhidesminneapolisweeklyfeedstuffsc"
    "entralu.s.choicewhitegreasesanjoaquinvalley23.00-24.5023.00-25.0019.00-24.00californiaweeklyfeedstuf"
    "fs43.00sanfrancisco21.00-27.0021.00-27.0019.00-21.50californiaweeklyfeedstuffs40.00losangeles21.00-2"
    "5.7521.00-25.7519.00-22.75californiaweeklyfeedstuffs37.0034.00nearbyfuturescmegroupethanol($/gal)ean"
    "oil"
)


def test_an_order_test_takes_a_recurring_passage_where_it_first_occurs():
    from rapidfuzz import fuzz

    needle = "ethanol($/gal)"
    first, last = RECURRING.find(needle), RECURRING.rfind(needle)
    assert fuzz.partial_ratio_alignment(needle, RECURRING).dest_start == last  # why _find looks further
    assert score._find("Ethanol ($/gal)", RECURRING) == first
    assert score._find("CME Group Ethanol ($/gal)", RECURRING) == RECURRING.find("cmegroup")


def _drawn_page(ops, skew: float):
    import numpy as np
    from PIL import Image, ImageDraw

    from bench import layout as bench_layout

    image = Image.new("L", bench_layout.PAGE, 255)
    draw = ImageDraw.Draw(image)
    for _, x, y, text, font, ink in ops:
        draw.text((x, y), text, fill=ink, font=bench_layout.pil_font(*font))
    return np.asarray(image.rotate(skew, resample=Image.BICUBIC, fillcolor=255))


def test_glyph_centres_land_on_their_ink_on_a_skewed_scan():
    from bench import layout as bench_layout

    font = (bench_layout.FONTS["en"][0], 24)
    ops = [("text", 150, 200, "Left column words", font, 0), ("text", 1000, 1650, "far corner", font, 0)]
    for skew in (0.0, 0.9, -0.9):
        pixels = _drawn_page(ops, skew)
        glyphs = bench_layout.glyphs_of(bench_layout.Layout(ops, [], [], 0), skew)
        for x, y, char in zip(glyphs.x, glyphs.y, glyphs.chars):
            if char.isalnum():
                patch = pixels[int(y) - 8:int(y) + 9, int(x) - 8:int(x) + 9]
                assert patch.min() < 128, (skew, char)
    # the far corner moves by sin(0.9 deg) * its distance from the centre, further than the patch
    straight = bench_layout.glyphs_of(bench_layout.Layout(ops, [], [], 0), 0.0)
    turned = bench_layout.glyphs_of(bench_layout.Layout(ops, [], [], 0), 0.9)
    assert abs(turned.x[-1] - straight.x[-1]) > 9


def test_true_text_goes_to_the_boxes_over_it_and_a_number_drawn_apart_gets_its_space():
    from bench import layout as bench_layout
    from ocrcore.types import TextLine, Word

    font = (bench_layout.FONTS["en"][0], 24)
    face = bench_layout.pil_font(*font)
    ops = [("text", 150, 200, "Left column words", font, 0), ("text", 700, 200, "Right side", font, 0),
           ("text", 150, 260, "1.", font, 0), ("text", 190, 260, "numbered item", font, 0)]
    glyphs = bench_layout.glyphs_of(bench_layout.Layout(ops, [], [], 0))

    def quad(x0, y0, x1, y1):
        return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]

    def ink(x, y, text):
        left, top, right, bottom = face.getbbox(text)
        return quad(x + left, y + top, x + right, y + bottom)

    left_words = [Word("Lcft", ink(150, 200, "Left")),
                  Word("coluwn", ink(150 + face.getlength("Left "), 200, "column"))]
    lines = [TextLine("Lcft coluwn wonds", 0.9, ink(150, 200, "Left column words"), words=tuple(left_words)),
             TextLine("Right sidc", 0.9, ink(700, 200, "Right side")),
             TextLine("1.numbered itcm", 0.9, quad(150, 262, 190 + face.getlength("numbered item"), 286)),
             TextLine("noise", 0.5, quad(1000, 1000, 1040, 1020))]
    out = bench_layout.with_true_text(lines, glyphs)
    assert [ln.text for ln in out] == ["Left column words", "Right side", "1. numbered item"]
    assert [w.text for w in out[0].words] == ["Left", "column"]
    assert out[0].bounding_box == lines[0].bounding_box  # the detector's boxes stay
