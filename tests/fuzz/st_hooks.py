"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.fuzz.st_hooks): real files for the upload
fields, and the service's own rules checked on every response besides schemathesis' checks.

- Files: a multipart `file` (format binary) and a JSON `image` (format byte, base64) are
  drawn mostly as small valid files of every input format with random pixels, options and
  sizes (tests/fuzz/samples.py), and sometimes as arbitrary bytes, so the fuzzer's positive
  cases reach the worker and the OCR engine, not only the gateway's type check.
- A "schema-violating request accepted" whose body is in fact valid against the document
  (schemathesis' stateful phase can mutate one branch of an anyOf into another's value) is
  dropped too, after validating the body against the whole document with jsonschema.
- Schema-valid requests the gateway refuses because of what is inside a file (not an image,
  a broken header, too many pixels or pages, pages the PDF does not have): JSON Schema
  cannot describe a file's content, so schemathesis' positive_data_acceptance failures with
  exactly these error codes are dropped (`filter_failure`, counted in the report's
  "filtered"). Any other refusal of schema-valid data still fails the run.
- Every response: the security headers; every 4xx/5xx is JSON {"error": {"code", "message"}}
  with a code of jobs/errors.py whose status is the response's; no answer carries a stack
  trace or a path inside the server.
"""
from __future__ import annotations

import base64
import json
import os
import re

import schemathesis
from hypothesis import strategies as st

from jobs.errors import ErrorCode

from .rules import problems
from .samples import MEDIA_TYPES, image_file

FILES = st.one_of(*(image_file(kind) for kind in MEDIA_TYPES), st.binary(max_size=256))
schemathesis.openapi.format("binary", FILES)
schemathesis.openapi.format("byte", FILES.map(lambda data: base64.b64encode(data).decode()))

# Refusals decided by a file's content, which no request schema can express.
CONTENT_REFUSALS = frozenset({
    ErrorCode.UNSUPPORTED_MEDIA_TYPE, ErrorCode.UNDECODABLE_IMAGE, ErrorCode.INVALID_PDF, ErrorCode.PDF_ENCRYPTED,
    ErrorCode.TOO_MANY_PIXELS, ErrorCode.TOO_MANY_PAGES, ErrorCode.PAGE_TOO_LARGE,
})
# Refusals no schema can state: callbacks off on this server (no OCR_CALLBACK_SECRET), a callback
# URL naming a private address, an Idempotency-Key the run already used with another request.
CONFIG_REFUSALS = frozenset({
    ErrorCode.CALLBACKS_DISABLED, ErrorCode.INVALID_CALLBACK_URL, ErrorCode.IDEMPOTENCY_KEY_REUSED,
})
# page_range is checked against the grammar before any file is opened; the same code from a PDF
# means its pages: these messages (ocrcore/document.py parse_page_range) depend on the document.
DOCUMENT_PAGE_RANGE = re.compile(r"out of range: the document has \d+ pages?|runs backwards|The PDF has no page")


def error_code(response) -> tuple[str, str]:
    try:
        error = json.loads(response.content)["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return "", ""


def body_is_valid(case) -> bool:
    """Whether the body the case sent is valid against the whole document's request schema
    (files stand in as non-empty strings). schemathesis' stateful phase sometimes mutates one
    branch of an anyOf into a value another branch accepts (a form boolean's text branch turned
    into the boolean itself) and calls the accepted request schema-violating."""
    from jsonschema import Draft202012Validator

    try:
        document = case.operation.schema.raw_schema
        operation = document["paths"][case.operation.path][case.operation.method.lower()]
        content = operation["requestBody"]["content"]
    except (AttributeError, KeyError, TypeError):
        return False
    media_types = [case.media_type] if case.media_type in content else list(content)

    def plain(value):
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value if isinstance(value, (str, int, float, bool, type(None))) else "file"

    body = plain(case.body)
    valid = any(Draft202012Validator({**content[media_type]["schema"], "components": document.get("components", {})})
                .is_valid(body) for media_type in media_types)
    if os.environ.get("OCR_FUZZ_DEBUG"):
        with open(os.environ["OCR_FUZZ_DEBUG"], "a") as log:
            log.write(f"{case.operation.path} {case.media_type} {valid} {body!r:.500}\n")
    return valid


def _names_job_status(response) -> bool:
    try:
        return "job_status" in json.loads(response.content)
    except (ValueError, TypeError):
        return False


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """Keep every failure except a schema-valid request refused for its files' content, and a
    "schema-violating" request that is in fact valid (see body_is_valid)."""
    if failure.code == "ST201":  # negative_data_rejection: "schema-violating request accepted"
        return not body_is_valid(case)
    if failure.code == "ST302":  # ensure_resource_availability: "created resource not found"
        # GET /jobs/<id>/result of a job that exists but has no document (yet, or by its format) is
        # 404 with the job's `job_status`, by design: the job was found; its result was not.
        return not _names_job_status(response)
    if failure.code != "ST202":  # positive_data_acceptance: "schema-valid request rejected"
        return True
    code, message = error_code(response)
    if code in CONTENT_REFUSALS or code in CONFIG_REFUSALS:
        return False
    return not (code == ErrorCode.INVALID_PAGE_RANGE and DOCUMENT_PAGE_RANGE.search(message))


@schemathesis.check
def service_rules(ctx, response, case) -> bool | None:
    """Security headers, the error envelope, no leaked internals (see `problems`)."""
    headers = {name: values[0] if isinstance(values, list) else values for name, values in response.headers.items()}
    found = problems(response.status_code, headers, response.content or b"")
    if found:
        raise AssertionError("; ".join(found))
    return None
