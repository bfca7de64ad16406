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


@pytest.mark.parametrize("spec", ["1", "1-3,7", " 2 , 4-5 ", "1,1"])
def test_the_page_range_grammar_and_the_parser_agree_on_good_ranges(spec):
    assert page_range_is_wellformed(spec)
    parse_page_range(spec, 10)


@pytest.mark.parametrize("spec", ["a", "1-", "-3", "1;2", "1,,2", "1-2-3", "٣"])
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
