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
