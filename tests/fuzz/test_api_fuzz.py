"""Schemathesis against the live gateway, on a stack of its own, with a fixed budget and seed.

Every operation of /openapi.json x FUZZ_EXAMPLES examples (and schemathesis' coverage and
stateful phases): no 5xx, every 4xx in the error envelope with its code's status, every
response conforming to the document, the security headers everywhere, no leaked internals,
and the service healthy afterwards. `make fuzz` runs the same for longer (tests/fuzz/api_fuzz.py).
"""
from __future__ import annotations

import os

import pytest

from .api_fuzz import health_problems, run
from .rules import problems
from .st_hooks import filter_failure

FUZZ_EXAMPLES = int(os.environ.get("OCR_FUZZ_EXAMPLES", "30"))
FUZZ_SEED = 12
OPERATIONS = 11  # every operation /openapi.json lists (tests/service/test_openapi.py checks the list)


@pytest.fixture(scope="module")
def fuzz_stack(start_service):
    stack = start_service("fuzz-service")
    yield stack
    stack.close()


def test_schemathesis_finds_nothing_and_the_service_stays_healthy(fuzz_stack, tmp_path_factory):
    result = run(fuzz_stack.base_url, FUZZ_EXAMPLES, FUZZ_SEED, tmp_path_factory.mktemp("schemathesis"))
    print(result.summary(FUZZ_EXAMPLES, FUZZ_SEED))
    assert result.report, result.output[-4000:]
    assert result.exit_code == 0 and result.failures == 0, result.output[-8000:]
    assert result.operations == OPERATIONS, result.report["operations"]
    assert result.report["operations"]["errored"] == 0 and result.report["complete"]
    assert all(phase["status"] == "success" for phase in result.report["phases"].values()), result.report["phases"]
    assert result.cases >= OPERATIONS * FUZZ_EXAMPLES // 2  # the budget was spent, not skipped
    # Positive cases reached the worker: POST /ocr answered 200 with results for real files.
    accepted = sum(rates.get("accepted", 0) for rates in result.report["valid_rates"]["POST /ocr"].values())
    assert accepted >= 10, result.report["valid_rates"]["POST /ocr"]
    assert not (found := health_problems(fuzz_stack)), found


# The hooks' own rules can fail: each broken response below is caught.
GOOD_HEADERS = {
    "Content-Type": "application/json",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'",
}


@pytest.mark.parametrize("status, headers, body, complaint", [
    (400, GOOD_HEADERS, b'{"error": {"code": "invalid_json", "message": "Bad."}}', None),
    (503, {**GOOD_HEADERS, "Retry-After": "5"}, b'{"error": {"code": "queue_full", "message": "Full."}}', None),
    (200, {**GOOD_HEADERS, "X-Frame-Options": ""}, b"{}", "X-Frame-Options"),
    (200, {k: v for k, v in GOOD_HEADERS.items() if k != "Content-Security-Policy"}, b"{}", "Content-Security-Policy"),
    (400, {**GOOD_HEADERS, "Content-Type": "text/html"}, b"<h1>Bad Request</h1>", "not JSON"),
    (400, GOOD_HEADERS, b'{"message": "no envelope"}', "not the envelope"),
    (400, GOOD_HEADERS, b'{"error": {"code": "made_up", "message": "x"}}', "unknown error code"),
    (400, GOOD_HEADERS, b'{"error": {"code": "queue_full", "message": "x"}}', "its status is 503"),
    (503, GOOD_HEADERS, b'{"error": {"code": "queue_full", "message": "Full."}}', "Retry-After"),
    (500, GOOD_HEADERS, b'{"error": {"code": "internal_error", "message": "Traceback (most recent call last):"}}',
     "leaks"),
    (404, GOOD_HEADERS, b'{"error": {"code": "not_found", "message": "see /work/repo/web/app.py"}}', "leaks"),
])
def test_the_service_rules_catch_broken_responses(status, headers, body, complaint):
    found = problems(status, headers, body)
    if complaint is None:
        assert found == []
    else:
        assert any(complaint in problem for problem in found), found


class _Failure:
    def __init__(self, code: str):
        self.code = code


class _Response:
    def __init__(self, code: str, message: str = "m"):
        self.content = ('{"error": {"code": "%s", "message": "%s"}}' % (code, message)).encode()


def test_only_content_refusals_of_schema_valid_requests_are_dropped():
    assert filter_failure(None, _Failure("ST202"), None, _Response("unsupported_media_type")) is False
    assert filter_failure(None, _Failure("ST202"), None, _Response(
        "invalid_page_range", "page_range item '9' is out of range: the document has 1 page, page 0 (0-based).")) is False
    assert filter_failure(None, _Failure("ST202"), None, _Response("invalid_page_range", "malformed")) is True
    assert filter_failure(None, _Failure("ST202"), None, _Response("invalid_field")) is True
    assert filter_failure(None, _Failure("ST101"), None, _Response("unsupported_media_type")) is True


def test_a_valid_body_called_schema_violating_is_dropped_and_an_invalid_one_kept():
    from jobs.settings import Settings
    from web import create_app

    document = create_app(Settings(redis_url="redis://127.0.0.1:9/0")).test_client().get("/openapi.json").get_json()

    class Operation:
        path, method = "/ocr", "POST"

        class schema:  # noqa: N801 (schemathesis' attribute name)
            raw_schema = document

    class Case:
        operation, media_type = Operation, "multipart/form-data"
        body: dict = {}

    Case.body = {"paginate_output": True, "file": [b"png"]}  # the boolean branch of a form boolean
    assert filter_failure(None, _Failure("ST201"), Case, None) is False
    for invalid in ({"paginate_output": 5, "file": [b"png"]}, {"file": [b"png"] * 11}, {"colour": "x", "file": [b"p"]}):
        Case.body = invalid
        assert filter_failure(None, _Failure("ST201"), Case, None) is True, invalid
