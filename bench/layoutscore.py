"""Scoring for bench.layout: any engine's markdown (or plain text) against a page's ground truth.

The answer is parsed with markdown-it-py (CommonMark with GFM tables), so what counts is what a
markdown renderer would show: `#` headings, `-`/`1.` list items, pipe tables with their header
row, paragraphs. Plain text parses as paragraphs, so a plain-text engine is scored the same way.

Ground truth is a list of blocks in reading order, each a dict:
    {"type": "heading", "level": 1, "text": ...}      level 1 is the largest type on the page
    {"type": "paragraph", "text": ...}                 a paragraph continued in the next column is one block
    {"type": "list_item", "ordered": bool, "text": ...} without its bullet or number
    {"type": "table", "ruled": bool, "rows": [[cell, ...], ...]}  row 0 is the header row, "" an empty cell
Running headers, footers and page numbers are not blocks: they are left out of the reference.

Measures:
- reading order: normalised Levenshtein distance (edits / the longer length) between the body text in
  reading order and the answer's text with its markup stripped, whitespace removed (OmniDocBench's
  way); table cells are read row by row;
- heading F1 (a match needs the same level and text similarity >= 0.9), list item F1 (same kind,
  bullet or numbered, and text), table cell F1 (same row, column and text; empty cells are not
  counted, but dropping one shifts the cells after it), table TEDS (tree edit distance, APTED);
- real-page unit tests in the manner of olmOCR-bench: present, absent, order, table neighbours.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from apted import APTED, Config
from markdown_it import MarkdownIt
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

MATCH = 0.9  # text similarity for a heading, list item or cell to count as the same
PASSAGE = 90.0  # rapidfuzz partial_ratio for a passage to count as found in the page text
_PUNCT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
                        "\u2212": "-", "\u2010": "-", "\u2011": "-", "\u00ad": None, "\u2022": None, "\u25cf": None,
                        "\u25aa": None, "\u25e6": None, "\u00b7": None})
_PARSER = MarkdownIt("commonmark").enable("table")


def norm(text: str) -> str:
    """NFKC, quotes and dashes unified, bullet glyphs dropped, all whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).translate(_PUNCT))


def similarity(a: str, b: str) -> float:
    return 1.0 - Levenshtein.normalized_distance(norm(a), norm(b))


# ---------------------------------------------------------------- markdown -> blocks

def _inline_text(token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts).strip()


def parse_markdown(markdown: str) -> list[dict]:
    """An answer's blocks in document order, in the ground truth's shape."""
    tokens = _PARSER.parse(markdown)
    blocks: list[dict] = []
    lists: list[bool] = []  # stack of open lists: ordered?
    table: dict | None = None
    row: list[str] | None = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        kind = tok.type
        if kind == "heading_open":
            blocks.append({"type": "heading", "level": int(tok.tag[1]), "text": _inline_text(tokens[i + 1])})
            i += 2
        elif kind in ("bullet_list_open", "ordered_list_open"):
            lists.append(kind == "ordered_list_open")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            blocks.append({"type": "list_item", "ordered": lists[-1], "text": ""})
        elif kind == "inline" and table is not None and row is not None:
            row.append(_inline_text(tok))
        elif kind == "inline":
            text = _inline_text(tok)
            if lists and blocks and blocks[-1]["type"] == "list_item" and not blocks[-1]["text"]:
                blocks[-1]["text"] = text
            elif text:
                blocks.append({"type": "paragraph", "text": text})
        elif kind == "table_open":
            table = {"type": "table", "ruled": None, "rows": []}
        elif kind == "tr_open":
            row = []
        elif kind in ("th_open", "td_open") and tokens[i + 1].type != "inline":
            assert row is not None
            row.append("")
        elif kind == "tr_close":
            assert table is not None and row is not None
            table["rows"].append(row)
            row = None
        elif kind == "table_close":
            blocks.append(table)
            table = None
        elif kind in ("fence", "code_block", "html_block"):
            text = re.sub(r"<[^>]+>", " ", tok.content).strip()
            if text:
                blocks.append({"type": "paragraph", "text": text})
        i += 1
    return blocks


def block_text(blocks: list[dict]) -> str:
    """The text of blocks in order, tables read row by row, one block or cell per line."""
    parts = []
    for block in blocks:
        if block["type"] == "table":
            parts.extend(cell for r in block["rows"] for cell in r if cell)
        else:
            parts.append(block["text"])
    return "\n".join(parts)


# ---------------------------------------------------------------- measures

def order_distance(answer: list[dict], truth: list[dict]) -> float:
    a, t = norm(block_text(answer)), norm(block_text(truth))
    return Levenshtein.normalized_distance(a, t) if a or t else 0.0


@dataclass
class Counts:
    tp: int = 0
    pred: int = 0
    truth: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.tp += other.tp
        self.pred += other.pred
        self.truth += other.truth
        return self

    @property
    def f1(self) -> float:
        return 2 * self.tp / (self.pred + self.truth) if self.pred + self.truth else 1.0

    def as_dict(self) -> dict:
        return {"tp": self.tp, "pred": self.pred, "truth": self.truth, "f1": self.f1}


def _match(pred: list, truth: list, same) -> int:
    """Greedy one-to-one matching, most similar pairs first: the number matched."""
    pairs = []
    for i, p in enumerate(pred):
        for j, t in enumerate(truth):
            score = same(p, t)
            if score >= MATCH:
                pairs.append((score, i, j))
    used_p, used_t = set(), set()
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    return len(used_p)


def heading_counts(answer: list[dict], truth: list[dict]) -> Counts:
    pred = [b for b in answer if b["type"] == "heading"]
    gold = [b for b in truth if b["type"] == "heading"]
    tp = _match(pred, gold, lambda p, t: similarity(p["text"], t["text"]) if p["level"] == t["level"] else 0.0)
    return Counts(tp, len(pred), len(gold))


def list_counts(answer: list[dict], truth: list[dict]) -> Counts:
    pred = [b for b in answer if b["type"] == "list_item"]
    gold = [b for b in truth if b["type"] == "list_item"]
    tp = _match(pred, gold, lambda p, t: similarity(p["text"], t["text"]) if p["ordered"] == t["ordered"] else 0.0)
    return Counts(tp, len(pred), len(gold))


def _cells(table: dict) -> dict[tuple[int, int], str]:
    return {(r, c): cell for r, row in enumerate(table["rows"]) for c, cell in enumerate(row) if norm(cell)}


def _cells_matched(pred: dict, truth: dict) -> int:
    p, t = _cells(pred), _cells(truth)
    return sum(1 for key, text in t.items() if key in p and similarity(p[key], text) >= MATCH)


class _Node:
    def __init__(self, name: str, text: str = "", children: list[_Node] | None = None):
        self.name, self.text, self.children = name, text, children or []

    def size(self) -> int:
        return 1 + sum(c.size() for c in self.children)


class _TedsConfig(Config):
    def rename(self, a, b):
        if a.name != b.name:
            return 1.0
        return Levenshtein.normalized_distance(norm(a.text), norm(b.text)) if a.name == "td" else 0.0

    def children(self, node):
        return node.children


def _tree(table: dict) -> _Node:
    rows = [_Node("tr", children=[_Node("td", cell) for cell in row]) for row in table["rows"]]
    return _Node("table", children=[_Node("thead", children=rows[:1]), _Node("tbody", children=rows[1:])])


def teds(pred: dict, truth: dict) -> float:
    """Tree-edit-distance similarity (Zhong et al., PubTabNet): 1 - APTED(pred, truth) / the larger tree;
    renaming a cell costs the normalised edit distance of the texts."""
    a, b = _tree(pred), _tree(truth)
    return 1.0 - APTED(a, b, _TedsConfig()).compute_edit_distance() / max(a.size(), b.size())


@dataclass
class TableScore:
    cells: dict[str, Counts] = field(default_factory=lambda: {"ruled": Counts(), "borderless": Counts()})
    teds: dict[str, list[float]] = field(default_factory=lambda: {"ruled": [], "borderless": []})


def table_scores(answer: list[dict], truth: list[dict]) -> TableScore:
    """Each true table paired with the answer's table sharing most cells with it (one to one);
    an answer's table paired with none counts against every kind the page has."""
    pred = [b for b in answer if b["type"] == "table"]
    gold = [b for b in truth if b["type"] == "table"]
    pairs = sorted(((_cells_matched(p, t), i, j) for i, p in enumerate(pred) for j, t in enumerate(gold)), reverse=True)
    partner: dict[int, int] = {}
    used = set()
    for n, i, j in pairs:
        if n and i not in used and j not in partner:
            partner[j] = i
            used.add(i)
    score = TableScore()
    for j, t in enumerate(gold):
        kind = "ruled" if t["ruled"] else "borderless"
        counts = Counts(truth=len(_cells(t)))
        if j in partner:
            p = pred[partner[j]]
            counts.tp, counts.pred = _cells_matched(p, t), len(_cells(p))
            score.teds[kind].append(teds(p, t))
        else:
            score.teds[kind].append(0.0)
        score.cells[kind] += counts
    kinds = {"ruled" if t["ruled"] else "borderless" for t in gold}
    for i, p in enumerate(pred):
        if i not in used:
            for kind in kinds or {"ruled", "borderless"}:
                score.cells[kind] += Counts(pred=len(_cells(p)))
    return score


# ---------------------------------------------------------------- real-page unit tests

TEST_KINDS = ("present", "absent", "order", "table")


def _find(passage: str, text: str) -> int | None:
    """Where a passage first starts in the page text (both normalised, case-folded), or None:
    of its alignments with the best score, the earliest (rapidfuzz gives any one of them,
    and a passage may also recur inside a longer one further on)."""
    needle = norm(passage).casefold()
    if not needle:
        return None
    found = fuzz.partial_ratio_alignment(needle, text, score_cutoff=PASSAGE)
    if found is None:
        return None
    start = found.dest_start
    while start > 0:
        earlier = fuzz.partial_ratio_alignment(needle, text[:start + len(needle) - 1], score_cutoff=found.score)
        if earlier is None or earlier.dest_start >= start:
            break
        start = earlier.dest_start
    return start


def run_test(test: dict, answer: list[dict]) -> bool:
    """One olmOCR-bench-style test on an answer's blocks:
    {"type": "present", "text"}, {"type": "absent", "text"}, {"type": "order", "before", "after"},
    {"type": "table", "cell", and one of "right", "below", "heading"} (the cell at its right, the
    cell below it, or its column's header-row cell)."""
    text = norm(block_text(answer)).casefold()
    kind = test["type"]
    if kind == "present":
        return _find(test["text"], text) is not None
    if kind == "absent":
        return _find(test["text"], text) is None
    if kind == "order":
        a, b = _find(test["before"], text), _find(test["after"], text)
        return a is not None and b is not None and a < b
    if kind == "table":
        for table in (b for b in answer if b["type"] == "table"):
            rows = table["rows"]
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    if similarity(cell.casefold(), test["cell"].casefold()) < MATCH:
                        continue
                    if "right" in test:
                        other = row[c + 1] if c + 1 < len(row) else None
                        want = test["right"]
                    elif "below" in test:
                        other = rows[r + 1][c] if r + 1 < len(rows) and c < len(rows[r + 1]) else None
                        want = test["below"]
                    else:
                        other = rows[0][c] if r > 0 and c < len(rows[0]) else None
                        want = test["heading"]
                    if other is not None and similarity(other.casefold(), want.casefold()) >= MATCH:
                        return True
        return False
    raise ValueError(f"unknown test type {kind!r}")


def to_markdown(blocks: list[dict]) -> str:
    """Ground-truth blocks as the markdown a perfect answer would be (the expected conventions:
    one paragraph a line, `#` by level, `- `/`1. ` items, a GFM table with its header row)."""
    out: list[str] = []
    number = 0
    previous = None
    for block in blocks:
        kind = block["type"]
        if kind == "list_item":
            same_list = previous is not None and previous["type"] == "list_item" and previous["ordered"] == block["ordered"]
            number = number + 1 if same_list else 1
            line = f"{number}. {block['text']}" if block["ordered"] else f"- {block['text']}"
            if same_list:
                out[-1] += "\n" + line
            else:
                out.append(line)
        elif kind == "heading":
            out.append("#" * block["level"] + " " + block["text"])
        elif kind == "table":
            rows = [[cell.replace("|", "\\|") for cell in row] for row in block["rows"]]
            lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
            lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
            out.append("\n".join(lines))
        else:
            out.append(block["text"])
        previous = block
    return "\n\n".join(out) + "\n"
