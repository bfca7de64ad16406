"""GET /openapi.json: a valid OpenAPI 3.1 document that says everything the API answers.

Validated with openapi-spec-validator (the reference validator of the OpenAPI schemas),
then checked for what the schema-driven fuzzer (tests/fuzz/test_api_fuzz.py) and client
generators rely on: every API route and no UI or metrics route, every POST /ocr 200
variant with its media type, `file` as an array, every error status a route can answer
with the error envelope, Retry-After on 503s.
"""
from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from ocrcore.formats import MIMETYPES
from ocrcore.limits import OUTPUT_FORMATS

# Every status each operation can answer (web/errors.py, jobs/errors.py, the routes).
ERROR_STATUSES = {
    ("/ocr", "post"): {"400", "409", "413", "415", "422", "500", "503", "504"},
    ("/jobs", "post"): {"400", "413", "415", "422", "500", "503"},
    ("/jobs/{job_id}", "get"): {"404", "500", "503"},
    ("/jobs/{job_id}", "delete"): {"404", "409", "500", "503"},
    ("/readyz", "get"): {"500", "503"},
}
NOT_API = ("ui.", "docs.", "metrics.")  # not API: the web UI's files, the API reference page, Prometheus


@pytest.fixture(scope="module")
def document():
    from jobs.settings import Settings
    from web import create_app

    app = create_app(Settings(redis_url="redis://127.0.0.1:9/0"))
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return {"app": app, "doc": response.get_json()}


def schema_of(doc: dict, ref_or_schema: dict) -> dict:
    if "$ref" in ref_or_schema:
        return doc["components"]["schemas"][ref_or_schema["$ref"].rsplit("/", 1)[1]]
    return ref_or_schema


def test_the_document_is_valid_openapi(document):
    doc = document["doc"]
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises OpenAPIValidationError with the path of the first problem


def test_the_validator_catches_a_broken_document(document):
    """The validation above can fail: a response without its required description is refused."""
    import copy

    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    broken = copy.deepcopy(document["doc"])
    del broken["paths"]["/ocr"]["post"]["responses"]["200"]["description"]
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_every_api_route_and_no_ui_or_metrics_route(document):
    app, doc = document["app"], document["doc"]
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    expected = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(NOT_API):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # <job_id>, <int:number> -> {job_id}, {number}
        expected |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == expected
    assert not any(path == "/" or "filename" in path or path == "/metrics" for path, _ in documented)
    assert len({op["operationId"] for item in doc["paths"].values() for op in item.values()}) == len(documented)


def test_every_ocr_200_variant_with_its_media_type(document):
    doc = document["doc"]
    ok = doc["paths"]["/ocr"]["post"]["responses"]["200"]["content"]
    variants = schema_of(doc, ok["application/json"]["schema"])["anyOf"]
    shapes = [set(schema_of(doc, v)["properties"]) for v in variants]
    # An image: the seed shape, with `layout` only when asked for (not required).
    image = next(schema_of(doc, v) for v in variants if "results" in schema_of(doc, v)["properties"])
    assert set(image["properties"]) == {"processing_time", "results", "layout"}
    assert image["required"] == ["processing_time", "results"]
    assert {"processing_time", "pages"} in shapes  # a PDF
    assert {"processing_time", "files"} in shapes  # several files
    for fmt in OUTPUT_FORMATS:
        if fmt != "json":
            assert ok[MIMETYPES[fmt].split(";")[0]]["schema"]["type"] == "string", fmt
    assert {"text/plain", "text/markdown", "text/html", "application/xhtml+xml"} <= set(ok)


def test_multipart_file_is_an_array_and_json_takes_image_or_images(document):
    doc = document["doc"]
    for path in ("/ocr", "/jobs"):
        content = doc["paths"][path]["post"]["requestBody"]["content"]
        form = schema_of(doc, content["multipart/form-data"]["schema"])
        assert form["properties"]["file"]["type"] == "array"
        assert form["properties"]["file"]["items"] == {"type": "string", "format": "binary", "minLength": 1}
        assert form["required"] == ["file"]
        body = schema_of(doc, content["application/json"]["schema"])
        assert {"image", "images", "model", "output_format", "page_range"} <= set(body["properties"])
        assert body["additionalProperties"] is False


def test_every_error_status_is_documented_with_the_envelope(document):
    doc = document["doc"]
    for (path, method), statuses in ERROR_STATUSES.items():
        responses = doc["paths"][path][method]["responses"]
        assert statuses <= set(responses), (path, method, statuses - set(responses))
        for status in statuses:
            if path == "/readyz" and status == "503":
                continue  # the readiness body, with its own error field
            schema = schema_of(doc, responses[status]["content"]["application/json"]["schema"])
            error = schema if "error" in schema.get("properties", {}) else None
            if error is None:  # a subclass of the envelope (504 carries the job)
                error = schema_of(doc, schema["allOf"][0]) if "allOf" in schema else schema
            assert "error" in error["properties"], (path, status)
    for item in doc["paths"].values():
        for operation in item.values():
            if "503" in operation["responses"]:
                assert operation["responses"]["503"]["headers"]["Retry-After"]["required"] is True
    detail = doc["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message"}


def test_created_jobs_link_to_the_operations_on_them(document):
    doc = document["doc"]
    created = doc["paths"]["/jobs"]["post"]["responses"]["202"]
    assert created["headers"]["Location"]["required"] is True
    assert {link["operationId"] for link in created["links"].values()} == {"getJob", "cancelJob"}
    for link in created["links"].values():
        assert link["parameters"] == {"job_id": "$response.body#/id"}


def test_searchable_pdf_results_are_described(document):
    """output_format=pdf: the job result says where the PDF is, and the result URLs serve it."""
    doc = document["doc"]
    schemas = doc["components"]["schemas"]
    assert set(schemas["SearchablePdfResult"]["required"]) == {
        "processing_time", "output_format", "url", "filename", "bytes", "pages"}
    assert doc["paths"]["/ocr"]["post"]["responses"]["200"]["content"]["application/pdf"]["schema"]["format"] == "binary"
    for path in ("/jobs/{job_id}/result", "/jobs/{job_id}/result/{number}"):
        assert {"200", "404"} <= set(doc["paths"][path]["get"]["responses"])
