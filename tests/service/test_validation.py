"""Input validation, error shapes and headers.

Each refusal runs twice: in-process against an app whose Redis is unreachable on purpose
(a request that passed validation would end in a 503, so these refusals happen before
anything could be queued), and over HTTP against the live service.
"""
from __future__ import annotations

import io
import json
import re

import pytest
from PIL import Image

from web import create_app
from jobs.settings import Settings

from .helpers import HttpClient, b64, png_claiming

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@pytest.fixture(params=["in-process", "http"])
def api(request, client):
    if request.param == "in-process":
        return client
    return HttpClient(request.getfixturevalue("live_service").base_url)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) >= {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert message and "Traceback" not in message and "File \"" not in message
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    return body


@pytest.mark.parametrize("body, code", [
    (b"{not json", "invalid_json"),
    (b"[1, 2]", "invalid_json"),
    (b'"just a string"', "invalid_json"),
    (b"{}", "missing_field"),
    (b'{"image": 42}', "invalid_field"),
    (b'{"image": "@@@not base64@@@"}', "invalid_base64"),
    (b'{"image": "data:image/png,abc"}', "invalid_base64"),
    (b'{"image": ""}', "empty_image"),
    (b'{"image": "aGVsbG8=", "colour": "blue"}', "unknown_field"),
    (b'{"image": "aGVsbG8=", "det_limit_side": 5}', "invalid_field"),
    (b'{"image": "aGVsbG8=", "use_angle_cls": "maybe"}', "invalid_field"),
    (b'{"image": "aGVsbG8=", "output_format": "docx"}', "invalid_field"),
    (b'{"image": "aGVsbG8=", "model": "no-such-model"}', "unknown_model"),
])
@pytest.mark.parametrize("path", ["/ocr", "/jobs"])
def test_bad_json_requests_are_400(api, path, body, code):
    assert_error(api.post(path, data=body, content_type="application/json"), 400, code)


def test_empty_body_is_400(api):
    assert_error(api.post("/ocr", data=b"", content_type="application/json"), 400, "empty_body")


def test_unknown_model_message_lists_the_installed_ones(api, text_png):
    from ocrcore.registry import MODEL_SETS

    body = assert_error(api.post("/ocr", json={"image": b64(text_png), "model": "nope"}), 400, "unknown_model")
    assert all(name in body["error"]["message"] for name in MODEL_SETS)


def test_multipart_without_file_is_400(api):
    response = api.post("/ocr", data={"model": "ppocrv6-small"}, content_type="multipart/form-data")
    assert_error(response, 400, "missing_field")


def test_multipart_bad_field_is_400(api, text_png):
    response = api.post("/jobs", data={"file": (io.BytesIO(text_png), "a.png"), "det_limit_side": "huge"},
                           content_type="multipart/form-data")
    assert_error(response, 400, "invalid_field")


def test_other_content_types_are_415(api, text_png):
    assert_error(api.post("/ocr", data=text_png, content_type="image/png"), 415, "unsupported_media_type")


@pytest.mark.parametrize("data", [b"hello, these are words", b"\x00\x01\x02" * 100, b"<svg xmlns='x'></svg>"])
def test_type_is_sniffed_from_bytes_not_name(api, data):
    """Not an image, whatever the file name and Content-Type claim."""
    multipart = api.post("/ocr", data={"file": (io.BytesIO(data), "photo.jpg", "image/jpeg")},
                            content_type="multipart/form-data")
    assert_error(multipart, 415, "unsupported_media_type")
    assert_error(api.post("/ocr", json={"image": b64(data)}), 415, "unsupported_media_type")


def test_pdf_without_pages_is_refused_before_queueing(api):
    """PDFs are sniffed like images and opened (not rendered) by the gateway: more in test_documents.py."""
    pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    assert_error(api.post("/jobs", json={"image": b64(pdf)}), 422, "invalid_pdf")
    response = api.post("/ocr", data={"file": (io.BytesIO(pdf), "doc.pdf")}, content_type="multipart/form-data")
    assert_error(response, 422, "invalid_pdf")


def test_pixel_cap_is_read_from_the_header(api):
    body = assert_error(api.post("/ocr", json={"image": b64(png_claiming(20_000, 20_000))}), 413, "too_many_pixels")
    assert "limit is 40000000 pixels" in body["error"]["message"]


def test_decompression_bomb_is_refused_without_decoding(api):
    """A real 400-megapixel PNG that compresses to a few dozen kilobytes."""
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, format="PNG")
    bomb = buffer.getvalue()
    assert len(bomb) < 1_000_000
    response = api.post("/ocr", data={"file": (io.BytesIO(bomb), "bomb.png")}, content_type="multipart/form-data")
    assert_error(response, 413, "too_many_pixels")


def test_unreadable_header_is_422(api):
    assert_error(api.post("/ocr", json={"image": b64(b"\xff\xd8\xff" + b"\x00" * 200)}), 422, "undecodable_image")
    assert_error(api.post("/ocr", json={"image": b64(b"GIF89a" + b"\xff" * 10)}), 422, "undecodable_image")


def test_size_caps(text_png):
    """Over the upload cap: 413 from the decoded size, the HTTP body size, or the base64 length."""
    settings = Settings(redis_url="redis://127.0.0.1:9/0", max_upload_bytes=len(text_png) - 1)
    client = create_app(settings).test_client()
    body = assert_error(client.post("/ocr", json={"image": b64(text_png)}), 413, "payload_too_large")
    assert re.search(rf"limit (is|of) {len(text_png) - 1} bytes", body["error"]["message"])
    multipart = client.post("/ocr", data={"file": (io.BytesIO(text_png), "a.png")}, content_type="multipart/form-data")
    assert_error(multipart, 413, "payload_too_large")
    huge = b"{" + b" " * (settings.max_body_bytes + 10) + b"}"
    assert_error(client.post("/jobs", data=huge, content_type="application/json"), 413, "payload_too_large")


def test_valid_upload_without_redis_is_503_with_retry_after(client, text_png):
    """Validation passed (the PNG is fine despite its misleading name), then the store is down."""
    response = client.post("/jobs", data={"file": (io.BytesIO(text_png), "scan.pdf", "application/pdf")},
                           content_type="multipart/form-data")
    assert_error(response, 503, "service_unavailable")
    assert int(response.headers["Retry-After"]) > 0
    assert_error(client.get("/jobs/" + "A" * 22), 503, "service_unavailable")


def test_readyz_without_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unready" and body["redis"] is False and body["workers"] == 0
    assert body["error"]["code"] == "not_ready"
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_unknown_urls_and_methods_are_json(api):
    assert_error(api.get("/no/such/thing"), 404, "not_found")
    assert_error(api.post("/no-such-page"), 404, "not_found")
    assert_error(api.get("/jobs/not-a-job-id"), 404, "not_found")
    assert_error(api.delete("/jobs/x"), 404, "not_found")
    response = assert_error(api.get("/ocr"), 405, "method_not_allowed")
    response = api.put("/jobs")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_unexpected_exceptions_are_a_plain_500(app):
    def boom():
        raise RuntimeError("secret internals /etc/passwd")

    app.add_url_rule("/boom", view_func=boom)
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    response = app.test_client().get("/boom")
    body = assert_error(response, 500, "internal_error")
    assert "secret" not in json.dumps(body)


def test_models(api):
    from ocrcore.registry import DEFAULT_MODEL, MODEL_SETS

    assert api.get("/models").get_json() == {"default": DEFAULT_MODEL, "models": list(MODEL_SETS)}


# The OpenAPI document itself (every API route, no UI route, validated): tests/service/test_openapi.py.


def test_ui_is_served_with_security_headers(api):
    index = api.get("/")
    assert index.status_code == 200 and index.mimetype == "text/html"
    assert "frame-ancestors 'none'" in index.headers["Content-Security-Policy"]
    for name, value in SECURITY_HEADERS.items():
        assert index.headers[name] == value
    html = index.get_data(as_text=True)
    for asset in ("/app.js", "/style.css"):
        assert asset in html
        response = api.get(asset)
        assert response.status_code == 200 and response.headers["X-Content-Type-Options"] == "nosniff"
    assert_error(api.get("/missing.js"), 404, "not_found")
    assert_error(api.get("/../pyproject.toml"), 404, "not_found")
