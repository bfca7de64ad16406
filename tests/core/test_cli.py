"""python -m ocrcore prints the public JSON shape."""
import json
import subprocess
import sys

from tests.core.textimages import encode, text_image


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocrcore", *args], capture_output=True, text=True, timeout=120)


def test_cli_one_image_and_several(tmp_path):
    first, second = tmp_path / "a.png", tmp_path / "b.jpg"
    first.write_bytes(encode(text_image(), "PNG"))
    second.write_bytes(encode(text_image(["SECOND IMAGE HERE"]), "JPEG"))

    single = json.loads(_run(str(first), "--threads", "1").stdout)
    assert set(single) == {"processing_time", "results"}
    assert single["results"][0]["text"].upper().startswith("INVOICE")

    both = _run(str(first), str(second), "--model", "ppocrv5-mobile", "--threads", "1")
    outputs = json.loads(both.stdout)
    assert isinstance(outputs, list) and len(outputs) == 2
    assert "SECOND" in outputs[1]["results"][0]["text"].upper()


def test_cli_bad_file_exits_non_zero_with_a_message(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    done = _run(str(bad))
    assert done.returncode == 1
    assert "bad.png" in done.stderr and "not a decodable image" in done.stderr


def test_cli_folder_of_images_and_pdfs_to_markdown_files(tmp_path):
    from tests.core.pdfmaker import Text, image_pdf, text_pdf

    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    (inputs / "invoice.png").write_bytes(encode(text_image(), "PNG"))
    (inputs / "sub" / "report.pdf").write_bytes(text_pdf([[Text("Quarterly Report", 72, 700, 20)]],
                                                         page_size=(300, 800)))
    (inputs / "scan.pdf").write_bytes(image_pdf([text_image(["SCANNED PAGE TEXT"])]))
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (inputs / "notes.txt").write_text("not an input: skipped by the folder search")
    out = tmp_path / "out"

    done = _run(str(inputs), "--out", str(out), "--format", "md", "--threads", "1")
    assert done.returncode == 1, done.stderr  # one file failed, the others were written
    assert "broken.jpg" in done.stderr and "not a decodable image" in done.stderr
    assert "3 written, 0 skipped, 1 failed" in done.stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["invoice.md", "scan.md", "sub/report.md"]
    assert "Quarterly Report" in (out / "sub" / "report.md").read_text()
    assert "SCANNED" in (out / "scan.md").read_text().upper()
    assert "INVOICE" in (out / "invoice.md").read_text().upper()

    # Again with --skip-existing: the written outputs are left alone, only the failed file is tried.
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.md")}
    again = _run(str(inputs), "--out", str(out), "--format", "md", "--threads", "1", "--skip-existing")
    assert again.returncode == 1 and "0 written, 3 skipped, 1 failed" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.md")} == before


def test_cli_pdf_to_stdout_json_and_hocr(tmp_path):
    from tests.core.pdfmaker import quarterly_report_pdf

    report = tmp_path / "report.pdf"
    report.write_bytes(quarterly_report_pdf())
    document = json.loads(_run(str(report), "--page-range", "1").stdout)
    assert [page["page"] for page in document["pages"]] == [2]
    assert document["pages"][0]["source"] == "text_layer"
    assert document["pages"][0]["results"][0]["text"] == "Second page text"
    hocr = _run(str(report), "--format", "hocr")
    assert hocr.returncode == 0 and "ocr_page" in hocr.stdout and ">Quarterly<" in hocr.stdout
