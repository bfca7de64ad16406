"""GET /docs serves Swagger UI's packaged files and our start-up script, nothing else, under the CSP."""
from __future__ import annotations

from web import SECURITY_HEADERS
from web.routes.docs import SWAGGER_FILES, swagger_dist


def test_the_page_loads_only_files_of_this_server(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "http" not in html.replace("http-equiv", "")  # no inline script, no CDN
    for src in ("/docs/swagger-ui/swagger-ui-bundle.js", "/docs/swagger-ui/swagger-ui.css", "/docs/init.js"):
        assert src in html
        assert client.get(src).status_code == 200, src


def test_swagger_ui_comes_from_the_package_with_its_license(client):
    assert (swagger_dist() / "swagger-ui-bundle.js").is_file()
    bundle = client.get("/docs/swagger-ui/swagger-ui-bundle.js")
    assert bundle.get_data() == (swagger_dist() / "swagger-ui-bundle.js").read_bytes()
    assert "max-age" in bundle.headers["Cache-Control"]
    license_text = client.get("/docs/swagger-ui/LICENSE")
    assert license_text.mimetype == "text/plain" and "Apache License" in license_text.get_data(as_text=True)
    assert set(SWAGGER_FILES) == {"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"}


def test_nothing_else_is_served_under_docs(client):
    for path in ("/docs/swagger-ui/index.css", "/docs/swagger-ui/../../web/__init__.py", "/docs/index.html",
                 "/docs/swagger-ui/oauth2-redirect.html", "/docs/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.is_json
