"""The contract's tables agree with themselves and with the code that uses them."""
from __future__ import annotations

import pytest

from jobs.errors import HTTP_STATUS, ErrorCode, status_of
from jobs.model import ACTIVE, FINAL, FileMeta, JobOptions, Status
from ocrcore.document import PageRangeError, parse_page_range
from ocrcore.limits import INPUT_KINDS, OUTPUT_FORMATS, page_range_is_wellformed, sniff_type
from ocrcore.formats import MIMETYPES


def test_every_error_code_has_a_status_and_unknown_codes_are_500():
    assert set(HTTP_STATUS) == set(ErrorCode)
    assert all(400 <= status < 600 for status in HTTP_STATUS.values())
    assert status_of("worker_lost") == 503 and status_of("no_such_code") == 500
    assert {c for c in ErrorCode if c.retryable} >= {ErrorCode.QUEUE_FULL, ErrorCode.WORKER_LOST}


def test_statuses_split_into_active_and_final():
    assert set(ACTIVE) | set(FINAL) == set(Status) and not set(ACTIVE) & set(FINAL)
    assert all(s.finished for s in FINAL) and not any(s.finished for s in ACTIVE)


def test_options_and_file_meta_round_trip_through_json():
    options = JobOptions(model="m", use_angle_cls=False, det_limit_side=640, output_format="hocr",
                         force_ocr=True, paginate_output=True)
    assert JobOptions.from_json(options.to_json()) == options
    assert JobOptions.from_json({}) == JobOptions(), "older records without options read as defaults"
    meta = FileMeta("a.pdf", "pdf", (0, 3))
    assert FileMeta.from_json(meta.to_json()) == meta and meta.page_count == 2
    with pytest.raises(ValueError):
        JobOptions(output_format="docx")  # type: ignore[arg-type]


def test_every_output_format_has_a_media_type():
    assert set(MIMETYPES) == set(OUTPUT_FORMATS)


@pytest.mark.parametrize("spec", ["0", "0-2,6", " 1 , 3-4 ", "0,0", "0,5-9"])
def test_the_page_range_grammar_and_the_parser_agree_on_good_ranges(spec):
    assert page_range_is_wellformed(spec)
    parse_page_range(spec, 10)


@pytest.mark.parametrize("spec", ["a", "0-", "-1", "-3", "1;2", "1,,2", "1-2-3", "٣"])
def test_the_page_range_grammar_and_the_parser_agree_on_bad_ranges(spec):
    assert not page_range_is_wellformed(spec)
    with pytest.raises(PageRangeError):
        parse_page_range(spec, 10)


@pytest.mark.parametrize("head, kind", [
    (b"\xff\xd8\xff\xe0", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF89a", "gif"),
    (b"RIFF\0\0\0\0WEBPVP8 ", "webp"), (b"BM" + b"\0" * 30, "bmp"), (b"II*\x00", "tiff"),
    (b"junk\n%PDF-1.7", "pdf"), (b"<html>", None),
])
def test_types_come_from_the_bytes(head, kind):
    assert sniff_type(head) == kind
    assert kind is None or kind in INPUT_KINDS


def test_pdf_is_an_output_format_but_not_a_text_one():
    from ocrcore.formats import BINARY_FORMATS
    from ocrcore.limits import TEXT_FORMATS

    assert "pdf" in OUTPUT_FORMATS and "pdf" in BINARY_FORMATS and "pdf" not in TEXT_FORMATS
    assert set(OUTPUT_FORMATS) == {"json", *TEXT_FORMATS, *BINARY_FORMATS}
    assert JobOptions.from_json(JobOptions(output_format="pdf").to_json()).output_format == "pdf"


@pytest.mark.parametrize("name, expected", [
    ("scan.pdf", "scan.pdf"), ("receipt.JPG", "receipt.pdf"), ("photo.final.jpeg", "photo.final.pdf"),
    (None, "document.pdf"), ("", "document.pdf"), ("...", "document.pdf"), ("報告書.pdf", "報告書.pdf"),
    ('a"b;c.png', "a_b_c.pdf"), ("../../etc/passwd", "etc_passwd.pdf"), ("x\r\nSet-Cookie: y.png", "xSet-Cookie_ y.pdf"),
    ("inv\u202egpj.exe", "invgpj.pdf"),
])
def test_download_names_come_from_the_upload_but_carry_nothing_unsafe(name, expected):
    from jobs.model import download_name

    assert download_name(name, "pdf") == expected
    assert len(download_name("x" * 300 + ".png", "pdf")) == 104


@pytest.mark.parametrize("name, header", [
    ("scan.pdf", 'attachment; filename="scan.pdf"'),
    ("報告書.pdf", "attachment; filename=\"document.pdf\"; filename*=UTF-8''%E5%A0%B1%E5%91%8A%E6%9B%B8.pdf"),
    ("Café menu.pdf", "attachment; filename=\"Cafe menu.pdf\"; filename*=UTF-8''Caf%C3%A9%20menu.pdf"),
    ('a"b\\c\r\n.pdf', "attachment; filename=\"a_b_c.pdf\"; filename*=UTF-8''a%22b%5Cc%0D%0A.pdf"),
])
def test_content_disposition_never_carries_a_raw_client_string(name, header):
    from web.routes.common import content_disposition

    assert content_disposition(name) == header


def test_a_binary_result_shows_urls_in_place_of_document_numbers():
    from jobs.model import document_numbers, with_document_urls

    single = {"processing_time": 1.0, "output_format": "pdf", "document": 1, "filename": "a.pdf", "bytes": 9, "pages": 1}
    assert document_numbers(single) == [1]
    shown = with_document_urls(single, lambda n: f"/r/{n}")
    assert list(shown) == ["processing_time", "output_format", "url", "filename", "bytes", "pages"]
    assert shown["url"] == "/r/1" and single["document"] == 1, "the stored result is not changed"
    several = {"processing_time": 2.0, "files": [
        {"filename": "a.png", "result": {**single, "page": 1}, "error": None},
        {"filename": "b.pdf", "result": None, "error": {"code": "invalid_pdf", "message": "Broken."}},
        {"filename": "c.pdf", "result": {**single, "document": 2}, "error": None},
        {"filename": "d.png", "result": {**single, "page": 2}, "error": None},
    ]}
    assert document_numbers(several) == [1, 2]
    files = with_document_urls(several, lambda n: f"/r/{n}")["files"]
    assert [f["result"] and f["result"]["url"] for f in files] == ["/r/1", None, "/r/2", "/r/1"]
    assert document_numbers({"processing_time": 1.0, "results": []}) == [] and document_numbers(None) == []
