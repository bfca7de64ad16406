"""ocrcore.layout.rulings on drawn pixels: rulings survive, text does not; a bullet is found
left of its line, leader dots and a neighbouring column's full stop are not; a dotted
leader is found right of a line."""
from __future__ import annotations

import cv2
import numpy as np

from ocrcore.layout.rulings import find_leaders, find_marks, find_rulings

LINE = (300.0, 100.0, 700.0, 130.0)  # a detected line, 30 px tall


def _page() -> np.ndarray:
    return np.full((600, 900, 3), 255, np.uint8)


def _dark(page: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15)


def test_rulings_are_found_and_text_is_not():
    page = _page()
    cv2.line(page, (50, 300), (850, 300), (0, 0, 0), 2)
    cv2.line(page, (400, 320), (400, 560), (0, 0, 0), 2)
    cv2.putText(page, "Some text, not a rule", (60, 450), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2)  # 13 px letters
    rulings = find_rulings(page)
    assert len(rulings.horizontal) == 1 and len(rulings.vertical) == 1
    x0, y, x1 = rulings.horizontal[0]
    assert x0 <= 52 and x1 >= 848 and 298 <= y <= 302
    x, y0, y1 = rulings.vertical[0]
    assert 398 <= x <= 402 and y0 <= 322 and y1 >= 558


def test_a_solid_dot_left_of_a_line_is_a_mark():
    page = _page()
    cv2.circle(page, (270, 115), 5, (0, 0, 0), -1)
    marks = find_marks(_dark(page), [LINE])
    assert len(marks) == 1
    x0, y0, x1, y1 = marks[0]
    assert 262 <= x0 <= 266 and 274 <= x1 <= 278 and 107 <= y0 <= 111


def test_leader_dots_and_rings_are_not_marks():
    page = _page()
    for x in range(150, 290, 14):  # "Robbery . . . . . 102.1"
        cv2.circle(page, (x, 118), 3, (0, 0, 0), -1)
    cv2.circle(page, (270, 200), 6, (0, 0, 0), 2)  # an "o": hollow
    assert find_marks(_dark(page), [LINE, (300.0, 185.0, 700.0, 215.0)]) == ()


def test_the_full_stop_of_the_column_to_the_left_is_not_a_mark():
    page = _page()
    cv2.putText(page, "end", (200, 124), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    cv2.circle(page, (255, 120), 4, (0, 0, 0), -1)
    assert find_marks(_dark(page), [LINE]) == ()


def test_a_mark_cut_by_the_strip_or_a_vertical_line_gives_nothing():
    page = _page()
    cv2.circle(page, (300, 115), 5, (0, 0, 0), -1)  # touches the line's start: part of the line
    assert find_marks(_dark(page), [LINE]) == ()
    assert find_marks(_dark(page), [(300.0, 100.0, 330.0, 500.0)]) == ()  # taller than wide


def test_a_bullet_is_found_when_the_line_box_starts_inside_the_first_letter():
    # A box fitted to the text read may start a few pixels inside its first letter: the
    # letter's cut-off part at the strip's edge is not something between bullet and line.
    page = _page()
    cv2.circle(page, (270, 115), 5, (0, 0, 0), -1)
    cv2.rectangle(page, (296, 104), (310, 126), (0, 0, 0), -1)  # the first letter
    marks = find_marks(_dark(page), [LINE])
    assert len(marks) == 1 and 262 <= marks[0][0] <= 266


def test_a_dotted_leader_after_a_line_is_found_and_a_next_word_is_not_one():
    page = _page()
    for x in range(712, 860, 12):  # "Robbery. . . . . . 102.1": dots on the baseline
        cv2.circle(page, (x, 124), 2, (0, 0, 0), -1)
    cv2.putText(page, "Fraud next", (712, 226), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    cv2.putText(page, "gjpq", (705, 99), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)  # the line above's descenders
    leaders = find_leaders(_dark(page), [LINE, (300.0, 200.0, 700.0, 230.0)])
    assert len(leaders) == 1
    x0, y0, x1, y1 = leaders[0]
    assert 708 <= x0 <= 712 and x1 >= 800 and 120 <= y0 <= y1 <= 128


def test_a_full_stop_then_a_wide_space_or_a_single_dot_is_no_leader():
    page = _page()
    cv2.circle(page, (706, 124), 2, (0, 0, 0), -1)  # one dot only
    for x in range(800, 860, 12):  # dots, but far past the line's end
        cv2.circle(page, (x, 224), 2, (0, 0, 0), -1)
    assert find_leaders(_dark(page), [LINE, (300.0, 200.0, 700.0, 230.0)]) == ()
