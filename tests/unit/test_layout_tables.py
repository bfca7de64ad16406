"""Tables from ruling lines and aligned text: the cases page pixels bring (partial rulings,
underlined links, section titles and addresses inside a ruled band, dotted leaders)."""
from __future__ import annotations

from ocrcore.layout import Rulings, analyze_page
from ocrcore.types import TextLine

from .test_page_layout import H, W, column, line


def _table(layout):
    (table,) = [b.table for b in layout.blocks if b.table is not None]
    return table


def _text(text: str, x: int, y: int) -> TextLine:
    return line(text, x, y, x + 14 * len(text), y + 24)


def test_a_title_band_open_into_the_label_column_is_kept_apart_not_the_table_lost():
    """The rule under a title band stops at the row-label column (as on many statistical
    sheets): the title's cell and the label column's header are two rectangles."""
    horizontal = ((100, 400, 900), (300, 450, 900), (100, 500, 900), (100, 550, 900), (100, 600, 900))
    vertical = ((100, 400, 600), (900, 400, 600), (300, 450, 600), (600, 450, 600))
    lines = [_text("Checks by state", 350, 412), _text("State", 110, 462), _text("Permit", 310, 462),
             _text("Handgun", 610, 462), _text("Alabama", 110, 512), _text("18,870", 310, 512),
             _text("23,022", 610, 512), _text("Alaska", 110, 562), _text("209", 310, 562), _text("3,062", 610, 562)]
    layout = analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, Rulings(horizontal, vertical))
    table = _table(layout)
    assert table.grid() == [["Checks by state", "", ""], ["State", "Permit", "Handgun"],
                            ["Alabama", "18,870", "23,022"], ["Alaska", "209", "3,062"]]


def _records(top: int, rows, xs=(110, 350, 550)):
    out = []
    for k, row in enumerate(rows):
        out += [_text(text, x, top + 44 * k) for text, x in zip(row, xs) if text]
    return out


RECORDS = [("Robbery", "102.1", "88.0"), ("Fraud", "173.7", "101.2"), ("Vandalism", "217.4", "180.9"),
           ("Arson", "11.3", "9.4")]


def test_underlined_text_in_a_ruled_table_does_not_cut_its_rows():
    """Links are underlined: a stroke under one line, its width (here flush with the frame,
    so it touches the table's rulings), is no row ruling."""
    links = ["Robbery link", "Fraud link", "Vandalism link", "Arson link"]
    lines = [_text("Offense", 110, 512), _text("Total", 350, 512), _text("Source", 990 - 14 * 6, 512)]
    lines += _records(562, [r[:2] for r in RECORDS])
    lines += [_text(link, 990 - 14 * len(link), 562 + 44 * k) for k, link in enumerate(links)]
    underlines = tuple((990 - 14 * len(link), 562 + 44 * k + 26, 998) for k, link in enumerate(links))
    rulings = Rulings(((100, 500, 1000), (100, 550, 1000), (100, 750, 1000)) + underlines,
                      ((100, 500, 750), (1000, 500, 750)))
    table = _table(analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, rulings))
    assert table.grid() == [["Offense", "Total", "Source"]] + [[r[0], r[1], link] for r, link in zip(RECORDS, links)]


def test_a_section_title_and_an_address_in_ruled_bands_do_not_fill_the_column_gaps():
    """The gaps that cut a ruled band's records into columns come from its rows of several
    pieces: a section title line across the columns, and a short address block under the
    records (two rows there), leave them open."""
    header = [_text("Offense", 110, 512), _text("Total", 350, 512), _text("Male", 550, 512), _text("Link", 810, 512)]
    title = [line("Property crime and related offenses", 110, 562, 640, 586)]
    records = _records(606, RECORDS)
    address = [_text("USDA Market News", 110, 800), _text("J", 820, 800), _text("F", 900, 800),
               _text("210 Walnut Street", 110, 840), line("Email: news@example.org", 430, 840, 780, 864),
               _text("Des Moines", 110, 880), line("www.example.org/news", 430, 880, 780, 904)]
    rulings = Rulings(((100, 500, 1000), (100, 550, 1000), (100, 790, 1000), (100, 920, 1000)),
                      ((100, 500, 920), (1000, 500, 920), (800, 500, 920)))
    table = _table(analyze_page(column("above", 110, 1130, 200, 5) + header + title + records + address, W, H,
                                rulings))
    grid = table.grid()
    for label, total, male in RECORDS:
        row = next(r for r in grid if r[0] == label)
        assert row[1:3] == [total, male]


def test_a_line_under_a_cell_ending_in_a_leader_starts_the_next_record():
    """'Gambling . . . 8.2' has ended at its leader: the close line under it is the first line
    of the next record's label, not Gambling's wrapped text."""
    rows = [("Robbery . . . . .", "102.1", "88.0"), ("Gambling . . . . .", "8.2", "7.5")]
    lines = [_text("Offense", 110, 462), _text("Total", 450, 462), _text("Male", 650, 462)]
    lines += _records(500, rows, (110, 450, 650))
    lines += [_text("Offenses against the", 110, 570), _text("children . . . .", 130, 596),
              _text("92.4", 450, 596), _text("88.7", 650, 596), _text("Arson . . . . . .", 110, 640),
              _text("11.3", 450, 640), _text("9.4", 650, 640)]
    rulings = Rulings(((100, 450, 1000), (100, 490, 1000), (100, 680, 1000)),
                      ((100, 450, 680), (600, 450, 680), (1000, 450, 680)))
    grid = _table(analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, rulings)).grid()
    assert ["Gambling", "8.2", "7.5"] in grid
    assert not any("Offenses" in cell for row in grid for cell in row if "Gambling" in row[0])


def test_a_column_heading_on_two_lines_stays_in_the_header_row_of_its_table():
    """A right-hand heading stacked on two lines ("One Withholding" over "Allowance") beside a
    one-line left heading, under a paragraph's last line: two lines of a few words are not a
    column of prose, so the heading row is not cut into columns but heads the table."""
    para = [line("the allowance amounts by payroll period have changed", 660, 540, 1160, 560),
            line("changed. For 2011, they are:", 660, 566, 930, 586)]
    heads = [line("One Withholding", 1016, 606, 1167, 626), line("Payroll Period", 673, 630, 800, 650),
             line("Allowance", 1017, 630, 1109, 650)]
    rows = [("Weekly", "71.15"), ("Biweekly", "142.31"), ("Monthly", "308.33"), ("Annually", "3,700.00")]
    records = []
    for k, (label, amount) in enumerate(rows):
        y = 664 + 34 * k
        records += [line(label, 673, y, 673 + 14 * len(label), y + 20), line(amount, 1040, y, 1117, y + 20)]
    left = column("left", 88, 610, 540, 12, height=20, step=24)
    layout = analyze_page(left + para + heads + records, W, H)
    grid = _table(layout).grid()
    assert grid[0][0] == "Payroll Period" and grid[0][-1].endswith("Allowance")
    assert [r[0] for r in grid[1:]] == [label for label, _ in rows]


def _ledger(second_lines: list[str], pitch: int = 30):
    """A framed ledger (its header ruled into columns, the records only framed): each record a
    key, a date, a description and an amount, and a further description line under it at
    the same pitch."""
    lines = [_text("Doc", 110, 462), _text("Date", 300, 462), _text("Description", 480, 462),
             _text("Amount", 1000, 462)]
    y = 510
    records = []
    for k, second in enumerate(second_lines):
        key, amount = f"D{k:04d}", f"{100 + k}.50"
        lines += [_text(key, 110, y), _text("05/03/2019", 300, y), _text(f"STAFF TRAVEL {k}", 480, y),
                  _text(amount, 1000, y), _text(second, 480, y + pitch)]
        records.append((key, amount, second))
        y += 2 * pitch
    rulings = Rulings(((100, 450, 1120), (100, 496, 1120), (100, y + 10, 1120)),
                      ((100, 450, y + 10), (1120, 450, y + 10), (290, 450, 496), (470, 450, 496), (990, 450, 496)))
    return lines, rulings, records


def test_a_ledger_s_further_description_line_stays_in_its_record():
    """A second description line at the records' own line pitch, with no figure and cells of
    the record on to its right, is more of the description: one row a record, the amount in
    its column even where the line runs on under it."""
    seconds = ["AIRFARE FOR E JOHNSON", "AIRFARE FOR S COWING", "TRAIN FARE FOR A BERG TO NEW YORK AND BACK",
               "AIRFARE FOR K FORD"]
    lines, rulings, records = _ledger(seconds)
    grid = _table(analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, rulings)).grid()
    assert len(grid) == 1 + len(records)
    for row, (key, amount, second) in zip(grid[1:], records):
        assert row[0] == key and row[-1] == amount
        assert second in " ".join(row[1:-1])


def test_rows_under_a_group_label_written_once_stay_rows():
    """'West | California | 12' over ' | Oregon | 7': the lower row fills the record's
    columns through the last, so it is a row of its own, text or figures."""
    lines = [_text("Region", 110, 462), _text("State", 400, 462), _text("Offices", 800, 462)]
    rows = [("West", "California", "12"), ("", "Oregon", "7"), ("", "Nevada", "3"), ("East", "Maine", "2"),
            ("", "Vermont", "1")]
    lines += _records(500, rows, (110, 400, 800))
    rulings = Rulings(((100, 450, 1000), (100, 490, 1000), (100, 730, 1000)), ((100, 450, 730), (1000, 450, 730)))
    grid = _table(analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, rulings)).grid()
    assert grid[1:] == [list(r) for r in rows]


def test_a_full_stop_before_a_dotted_leader_is_fill_not_text():
    """The detector cut 'Robbery . . . . 102.1' after its first dot ('Robbery.'); the leader
    found in the pixels beyond it makes the cell 'Robbery', as from the text layer."""
    lines = [_text("Offense", 110, 462), _text("Total", 450, 462), _text("Male", 650, 462),
             _text("Robbery.", 110, 500), _text("102.1", 450, 500), _text("88.0", 650, 500),
             _text("Fraud", 110, 544), _text("173.7", 450, 544), _text("101.2", 650, 544),
             _text("Arson", 110, 588), _text("11.3", 450, 588), _text("9.4", 650, 588)]
    robbery_end = 110 + 14 * len("Robbery.")
    leader = (robbery_end + 8, 516, 420, 520)
    rulings = Rulings(((100, 450, 1000), (100, 490, 1000), (100, 630, 1000)),
                      ((100, 450, 630), (1000, 450, 630)), leaders=(leader,))
    grid = _table(analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, rulings)).grid()
    assert ["Robbery", "102.1", "88.0"] in grid
    # Without the leader the full stop is the text's own.
    plain = Rulings(rulings.horizontal, rulings.vertical)
    grid = _table(analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, plain)).grid()
    assert ["Robbery.", "102.1", "88.0"] in grid


def test_a_record_with_its_last_cells_empty_is_a_row_not_a_further_line():
    """'Bob | QA | ' under 'Alice | Dev | remote': it fills the first column, so it is a record
    of its own, though it has no figure and the record above has a cell on to its right."""
    lines = [_text("Name", 110, 462), _text("Role", 400, 462), _text("Note", 800, 462)]
    rows = [("Alice", "Dev", "remote"), ("Bob", "QA", ""), ("Carol", "Ops", "on site"), ("Dan", "Dev", "")]
    lines += _records(500, rows, (110, 400, 800))
    rulings = Rulings(((100, 450, 1000), (100, 490, 1000), (100, 690, 1000)),
                      ((100, 450, 690), (1000, 450, 690), (390, 450, 490), (790, 450, 490)))
    grid = _table(analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, rulings)).grid()
    assert grid[1:] == [list(r) for r in rows]


def test_records_whose_columns_are_closer_than_a_piece_gap_part_where_every_row_leaves_it_open():
    """Ranges set close ("30.02 - 30.82" beside "31.22 - 32.52", 14 px apart on 24 px lines,
    under the gap that parts a row's pieces): separate boxes in every record, with the gap
    between them open in all of them, are two columns, not one cell of both."""
    ranges = [("Illinois", "30.02 - 30.82", "31.22 - 32.52"), ("Indiana", "30.92 - 31.17", "32.89 - 33.39"),
              ("Iowa", "30.92 - 31.92", "31.94 - 33.19"), ("Minnesota", "31.17 - 31.92", "32.64 - 33.39")]
    xs = (110, 350, 350 + 14 * 13 + 14)
    lines = [_text("Site", xs[0], 512), _text("This week", xs[1], 512), _text("Last week", xs[2], 512)]
    lines += _records(562, ranges, xs)
    rulings = Rulings(((100, 500, 1000), (100, 550, 1000), (100, 750, 1000)), ((100, 500, 750), (1000, 500, 750)))
    table = _table(analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, rulings))
    assert table.grid() == [["Site", "This week", "Last week"]] + [list(r) for r in ranges]


def test_records_parted_by_a_narrow_gap_in_only_some_rows_keep_their_text_whole():
    """A narrow gap between two boxes of one record is no column unless every record leaves
    it open: a description cut by the detector at a wide word space stays one cell."""
    rows = [("Illinois", "Soybean", "Processor"), ("Indiana", "Corn processor, river terminal", ""),
            ("Iowa", "Feedstuffs", "weekly"), ("Minnesota", "Weekly feedstuffs and grain", "")]
    lines = []
    for k, (label, first, second) in enumerate(rows):
        y = 562 + 44 * k
        lines.append(_text(label, 110, y))
        lines.append(_text(first, 350, y))
        if second:
            lines.append(_text(second, 350 + 14 * len(first) + 14, y))
    lines += [_text("Site", 110, 512), _text("Source", 350, 512)]
    rulings = Rulings(((100, 500, 1000), (100, 550, 1000), (100, 750, 1000)), ((100, 500, 750), (1000, 500, 750)))
    table = _table(analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, rulings))
    assert table.grid() == [["Site", "Source"], ["Illinois", "Soybean Processor"],
                            ["Indiana", "Corn processor, river terminal"], ["Iowa", "Feedstuffs weekly"],
                            ["Minnesota", "Weekly feedstuffs and grain"]]


def test_a_header_row_drawn_without_inner_borders_keeps_its_columns():
    """Word's table styles often draw no inner borders in the header row: its three headings,
    each over a column and none crossing a column's edge, are three cells, not one spanning
    cell; a title alone over the columns still spans them."""
    xs, ys = [200, 618, 1036, 1453], [671, 714, 757, 800]
    horizontal = tuple((xs[0], y, xs[-1]) for y in ys)
    vertical = tuple([(x, ys[0], ys[1]) for x in (xs[0], xs[-1])]
                     + [(x, ys[r], ys[r + 1]) for r in (1, 2) for x in xs])
    rows = [("Heading 1", "Heading 2", "Heading 3"), ("Line 1", "Lark", "Owl"), ("Line 2", "Stoat", "Wren")]
    lines = [_text(text, xs[c] + 16, ys[r] + 8) for r, row in enumerate(rows) for c, text in enumerate(row)]
    table = _table(analyze_page(column("above", 110, 1130, 200, 5) + lines, W, H, Rulings(horizontal, vertical)))
    assert table.grid() == [list(r) for r in rows]

    titled = [_text("All the birds seen", 640, ys[0] + 8)] + lines[3:]
    table = _table(analyze_page(column("above", 110, 1130, 200, 5) + titled, W, H, Rulings(horizontal, vertical)))
    assert table.grid()[0] == ["All the birds seen", "", ""] and table.cells[0].colspan == 3
