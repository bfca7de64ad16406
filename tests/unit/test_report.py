"""bench.report: the marked blocks of docs/PERFORMANCE.md and README.md are what the saved results
give (so a figure typed in by hand, or a result saved without rewriting the docs, fails here);
only marked blocks change; a block without results is left alone; an unknown block is an error."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench import report

REPO = Path(__file__).resolve().parents[2]


def test_the_docs_are_current_with_the_saved_results():
    assert report.main(["--check", "--no-plots"]) == 0
    for doc in report.DOCUMENTS:
        text = doc.read_text(encoding="utf-8")
        for match in report.BLOCK.finditer(text):
            assert match["name"] in report.SECTIONS
            assert match["body"].strip(), f"{doc.name}: block {match['name']} is empty: no results saved for it"


def test_a_changed_result_makes_the_check_fail_and_the_report_rewrites_only_its_block(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(report.results.RESULTS, results)
    saved = json.loads((results / "memory.json").read_text())
    saved["figures"]["rss_mib"]["onnxruntime"]["300"] = 512.25
    (results / "memory.json").write_text(json.dumps(saved))
    doc = tmp_path / "PERFORMANCE.md"
    shutil.copy(REPO / "docs" / "PERFORMANCE.md", doc)
    before = doc.read_text()

    assert report.main(["--check", "--no-plots", "--results", str(results), "--docs", str(doc)]) == 1
    assert report.main(["--no-plots", "--results", str(results), "--docs", str(doc)]) == 0
    after = doc.read_text()
    assert "512.2 (300)" in after and "512.2" not in before
    changed = [a for a, b in zip(before.splitlines(), after.splitlines(), strict=False) if a != b]
    assert changed and all("onnxruntime" in line for line in changed), changed  # the one row, nothing else
    assert report.main(["--check", "--no-plots", "--results", str(results), "--docs", str(doc)]) == 0


def test_blocks_without_results_stay_and_unknown_blocks_are_refused(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("# t\n\n<!-- report:receipts -->\nkept\n<!-- /report:receipts -->\n")
    empty = tmp_path / "none"
    empty.mkdir()
    assert report.main(["--no-plots", "--results", str(empty), "--docs", str(doc)]) == 0
    assert "kept" in doc.read_text()
    doc.write_text("<!-- report:nothing-registered -->\n<!-- /report:nothing-registered -->\n")
    assert report.main(["--no-plots", "--results", str(empty), "--docs", str(doc)]) == 1
