"""The `ocrserve` client and CLI against the real stack: a folder of mixed files in parallel,
per-file errors, --skip-existing without a single request, Ctrl-C canceling the jobs in flight."""
from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from ocrclient import Client, JobFailed, ServiceError
from tests.conftest import render_text_image
from tests.core.pdfmaker import Text, image_pdf, text_pdf
from tests.sroie import SROIE

REPO = Path(__file__).resolve().parents[2]
RECEIPTS = sorted((SROIE / "img").glob("*.jpg"))


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocrclient", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def requests_served(base_url: str) -> dict[tuple[str, str], float]:
    """{(method, route): requests answered} from the gateway's /metrics, its own scrapes left out."""
    counts: dict[tuple[str, str], float] = {}
    for line in requests.get(base_url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("ocr_http_requests_total{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            if labels["route"] != "/metrics":
                key = (labels["method"], labels["route"])
                counts[key] = counts.get(key, 0) + float(line.rsplit(" ", 1)[1])
    return counts


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory) -> Path:
    """20 files: 5 scanned receipts, 8 rendered PNGs, 6 small PDFs (4 with a text layer, 2 scanned,
    some in a subfolder) and one broken file."""
    folder = tmp_path_factory.mktemp("mixed")
    (folder / "pdfs").mkdir()
    assert len(RECEIPTS) >= 5, f"the SROIE receipts are missing under {SROIE}"
    for receipt in RECEIPTS[:5]:
        (folder / f"receipt-{receipt.name}").write_bytes(receipt.read_bytes())
    for i in range(8):
        (folder / f"line-{i}.png").write_bytes(render_text_image([f"LINE NUMBER {i}", f"ITEM {100 + i}"], size=28))
    for i in range(4):
        (folder / "pdfs" / f"letter-{i}.pdf").write_bytes(
            text_pdf([[Text(f"Letter number {i}", 72, 700, 18)], [Text("Second page", 72, 700, 14)]]))
    for i in range(2):
        scan = Image.open(io.BytesIO(render_text_image([f"SCANNED {i}", "PAGE OF TEXT"])))
        (folder / "pdfs" / f"scan-{i}.pdf").write_bytes(image_pdf([scan]))
    (folder / "broken.jpg").write_bytes(b"this is not a picture at all\n" * 10)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) == 20
    return folder


def test_a_folder_of_20_mixed_files_with_concurrency_4_then_skip_existing(live_service, mixed_folder, tmp_path):
    out = tmp_path / "out"
    before = requests_served(live_service.base_url)
    done = cli("ocr", str(mixed_folder), "--url", live_service.base_url, "--format", "md", "--out", str(out),
               "--concurrency", "4")
    assert done.returncode == 1, done.stderr  # one file failed
    assert re.search(r"broken\.jpg: not an image or PDF", done.stderr), done.stderr
    assert "19 written, 0 skipped, 1 failed" in done.stderr, done.stderr

    outputs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    expected = sorted(
        p.relative_to(mixed_folder).with_suffix(".md").as_posix()
        for p in mixed_folder.rglob("*") if p.is_file() and p.name != "broken.jpg"
    )
    assert outputs == expected and len(outputs) == 19
    assert "LINE NUMBER 3" in (out / "line-3.png").with_suffix(".md").read_text().upper()
    assert "Letter number 2" in (out / "pdfs" / "letter-2.md").read_text()
    assert "Second page" in (out / "pdfs" / "letter-2.md").read_text()
    assert "SCANNED 1" in (out / "pdfs" / "scan-1.md").read_text().upper()
    for receipt in RECEIPTS[:5]:
        assert len((out / f"receipt-{receipt.stem}.md").read_text().split()) > 20, receipt.name
    after = requests_served(live_service.base_url)
    assert after.get(("POST", "/jobs"), 0) - before.get(("POST", "/jobs"), 0) == 19  # the broken file was not sent

    # Again with --skip-existing: nothing is sent, nothing rewritten; the broken file is still reported.
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.md")}
    again = cli("ocr", str(mixed_folder), "--url", live_service.base_url, "--format", "md", "--out", str(out),
                "--concurrency", "4", "--skip-existing")
    assert again.returncode == 1 and "0 written, 19 skipped, 1 failed" in again.stderr, again.stderr
    assert requests_served(live_service.base_url) == after, "the second run made requests"
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.md")} == stamps


def test_a_file_the_service_cannot_read_is_reported_and_the_batch_goes_on(live_service, tmp_path, text_png):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.png").write_bytes(text_png)
    (folder / "truncated.png").write_bytes(text_png[: len(text_png) // 3])  # a PNG header, broken data
    done = cli("ocr", str(folder), "--url", live_service.base_url, "--format", "text", "--out",
               str(tmp_path / "out"), "--concurrency", "2")
    assert done.returncode == 1
    assert re.search(r"truncated\.png: .*undecodable_image", done.stderr), done.stderr
    assert (tmp_path / "out" / "good.txt").read_text().startswith("HELLO WORLD")
    assert not (tmp_path / "out" / "truncated.txt").exists()


def test_the_python_api(live_service, text_png, tmp_path):
    client = Client(live_service.base_url)
    result = client.ocr(text_png, filename="hello.png")
    assert result["results"][0]["text"] == "HELLO WORLD"
    path = tmp_path / "report.pdf"
    path.write_bytes(text_pdf([[Text("Quarterly Report", 72, 700, 20)]]))
    markdown = client.ocr(path, output_format="markdown")
    assert markdown["output_format"] == "markdown" and "Quarterly Report" in markdown["content"]

    job = client.submit(text_png, output_format="text")
    updates = []
    final = client.wait(job["id"], on_update=updates.append)
    assert final["status"] == "succeeded" and final["result"]["content"].startswith("HELLO WORLD")
    assert updates[-1] == final

    with pytest.raises(JobFailed) as failed:
        client.ocr(text_png[: len(text_png) // 3])
    assert failed.value.code == "undecodable_image"
    with pytest.raises(ServiceError) as refused:
        client.ocr(b"plain text, not an image")
    assert refused.value.status == 415
    assert client.limits()["max_files_per_job"] >= 1


def test_ctrl_c_cancels_the_jobs_in_flight(live_service, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for receipt in RECEIPTS[:4]:
        (folder / receipt.name).write_bytes(receipt.read_bytes())
    before = requests_served(live_service.base_url)
    proc = subprocess.Popen([sys.executable, "-m", "ocrclient", "ocr", str(folder), "--url", live_service.base_url,
                             "--out", str(tmp_path / "out"), "--concurrency", "2"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while requests_served(live_service.base_url).get(("POST", "/jobs"), 0) < before.get(("POST", "/jobs"), 0) + 2:
            assert time.monotonic() < deadline and proc.poll() is None, "the CLI never submitted two jobs"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    after = requests_served(live_service.base_url)
    canceled = after.get(("DELETE", "/jobs/<job_id>"), 0) - before.get(("DELETE", "/jobs/<job_id>"), 0)
    assert canceled >= 1, after  # the jobs in hand were canceled on the server, not left to run
