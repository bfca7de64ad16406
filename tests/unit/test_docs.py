"""README.md is a front page, and nothing it used to explain is lost: it stays under 12 KB, every
link in it and in docs/ leads to a file and heading that exist, and the documents it links to
name every environment variable of jobs/settings.py, every limit of ocrcore/limits.py, every
request field and every endpoint."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from jobs.settings import Settings
from ocrcore import limits
from web.schemas import OcrParams

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
MAX_README_BYTES = 12 * 1024
MARKDOWN = MarkdownIt("commonmark").enable("table")


def parse(path: Path):
    return MARKDOWN.parse(path.read_text(encoding="utf-8"))


def links(path: Path) -> list[str]:
    return [child.attrs["href"] for token in parse(path) if token.type == "inline"
            for child in token.children or [] if child.type == "link_open"]


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation but - and _ dropped, spaces to hyphens."""
    tokens = parse(path)
    out = set()
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            text = "".join(child.content for child in tokens[i + 1].children or [])
            out.add(re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-"))
    return out


def linked_documents() -> list[Path]:
    """README and the local markdown files it links to."""
    found = [README]
    for href in links(README):
        target = href.split("#")[0]
        if target.endswith(".md") and "://" not in target:
            found.append((README.parent / target).resolve())
    return list(dict.fromkeys(found))


def test_the_readme_is_a_front_page():
    size = len(README.read_bytes())
    assert size <= MAX_README_BYTES, f"README.md is {size} bytes, over {MAX_README_BYTES}"
    text = README.read_text(encoding="utf-8")
    for command in ("make run", "make test", "docker compose up", "curl -s http://localhost:5005/ocr",
                    "http://localhost:5005/jobs", "ocrserve ocr"):
        assert command in text, command
    assert "docs/img/web-ui.png" in links(README) or "](docs/img/web-ui.png)" in text


@pytest.mark.parametrize("document", [README, *sorted((REPO / "docs").glob("*.md")), REPO / "CHANGELOG.md"],
                         ids=lambda p: p.name)
def test_every_local_link_leads_to_a_file_and_heading_that_exist(document):
    broken = []
    for href in links(document):
        if "://" in href or href.startswith("mailto:"):
            continue
        target, _, anchor = href.partition("#")
        path = (document.parent / target).resolve() if target else document
        if not path.exists():
            broken.append(href)
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(href)
    assert not broken, f"{document.name}: {broken}"


def linked_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in linked_documents())


def test_every_setting_and_limit_is_documented_where_the_readme_leads():
    text = linked_text()
    variables = [f"OCR_{name.upper()}" for name in Settings.model_fields]
    constants = [name for name, value in vars(limits).items()
                 if name.isupper() and isinstance(value, int | float) and name != "MB"]
    assert len(variables) > 30 and len(constants) > 10
    missing = [name for name in variables + constants if f"`{name}`" not in text]
    assert not missing, f"not in README or the docs it links to: {missing}"


def test_every_request_field_and_endpoint_is_documented_where_the_readme_leads(app):
    text = linked_text()
    missing = [name for name in OcrParams.model_fields if f"`{name}`" not in text]
    # Routes with their parameters' names left out (`/jobs/<job_id>` is written `/jobs/<id>`); `/` and
    # `/<filename>` serve the web UI.
    def bare(route: str) -> str:
        return re.sub(r"<[^>]*>", "<>", route)

    written = bare(text)
    routes = {bare(rule.rule) for rule in app.url_map.iter_rules()
              if not rule.rule.startswith(("/static", "/docs/")) and rule.rule not in ("/", "/<filename>")}
    missing += [route for route in sorted(routes) if route not in written]
    assert not missing, f"not in README or the docs it links to: {missing}"
