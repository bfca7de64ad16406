"""deploy/monitoring: the Grafana dashboard and the Prometheus alert rules ask only for metrics a
live gateway serves. Every expression is parsed as PromQL (promql-parser), and every metric name
and label it selects on is looked up in the real /metrics output after some jobs ran."""
from __future__ import annotations

import json
import re
from pathlib import Path

import promql_parser
import pytest
import requests
import yaml

from ocrclient import Client, JobFailed

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "monitoring"
DASHBOARD = json.loads((MONITORING / "ocrserve-dashboard.json").read_text())
RULES = yaml.safe_load((MONITORING / "ocrserve-alerts.yaml").read_text())
# Grafana's interval variables, as Prometheus would see them once Grafana fills them in.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "30s", "$__range": "6h"}
DURATION = re.compile(r"\d+[smhdw]")


def dashboard_expressions() -> list[tuple[str, str]]:
    found = []
    for panel in DASHBOARD["panels"]:
        for target in panel.get("targets", []):
            found.append((f"panel {panel['title']!r} {target['refId']}", target["expr"]))
    return found


def rule_expressions() -> list[tuple[str, str]]:
    return [(f"alert {rule['alert']}", rule["expr"]) for group in RULES["groups"] for rule in group["rules"]]


def selectors(expression: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names matched on) of every series selector in a PromQL expression."""
    for variable, value in GRAFANA_VARIABLES.items():
        expression = expression.replace(variable, value)
    tree = promql_parser.parse(expression)  # a syntax error fails here
    found: list[tuple[str, set[str]]] = []

    def visit(node, *_):
        if isinstance(node, promql_parser.VectorSelector):
            found.append((node.name, {m.name for m in node.matchers.matchers if m.name != "__name__"}))

    promql_parser.walk(tree, visit)
    return found


@pytest.fixture(scope="module")
def live_metrics(live_service, text_png) -> dict[str, set[str]]:
    """{sample name: label names} from a gateway's /metrics, after a succeeded job, a failed job,
    a synchronous call and a refused request, so that every family has samples."""
    client = Client(live_service.base_url)
    client.ocr(text_png)
    with pytest.raises(JobFailed):
        client.ocr(text_png[: len(text_png) // 3])
    assert requests.post(live_service.url("/ocr"), files={"file": ("a.png", text_png)}, timeout=120).ok
    assert requests.post(live_service.url("/jobs"), files={"file": ("a.txt", b"text")}, timeout=30).status_code == 415
    samples: dict[str, set[str]] = {}
    for line in requests.get(live_service.url("/metrics"), timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?", line)
            assert match, line
            samples.setdefault(match.group(1), set()).update(re.findall(r'(\w+)="', match.group(2) or ""))
    return samples


@pytest.mark.parametrize("source", ["dashboard", "rules"])
def test_every_metric_the_monitoring_asks_for_is_served(live_metrics, source):
    expressions = dashboard_expressions() if source == "dashboard" else rule_expressions()
    assert len(expressions) >= 8
    used = set()
    for where, expression in expressions:
        found = selectors(expression)
        assert found, f"{where}: selects no metric"
        for name, labels in found:
            assert name in live_metrics, f"{where}: {name} is not in the live /metrics output"
            assert labels <= live_metrics[name], f"{where}: {name} has no label {labels - live_metrics[name]}"
            used.add(name)
    assert all(name.startswith("ocr_") for name in used), used


def test_the_checker_notices_a_wrong_name(live_metrics):
    (name, _), = selectors("sum(rate(ocr_http_requests[5m]))")  # the counter without its _total
    assert name not in live_metrics
    with pytest.raises(ValueError):
        selectors("sum(rate(ocr_http_requests_total[5m])")  # unbalanced


def test_the_dashboard_shows_every_documented_family():
    guide = (REPO / "docs" / "OPERATIONS.md").read_text()
    table = guide[guide.index("## Metrics"):guide.index("How they are collected")]
    families = set(re.findall(r"^\| `(ocr_\w+)` \|", table, re.MULTILINE))
    assert len(families) >= 10
    shown = {name for _, expression in dashboard_expressions() for name, _ in selectors(expression)}
    suffixes = ("_bucket", "_count", "_sum")
    missing = {f for f in families if not any(s == f or s in (f + x for x in suffixes) for s in shown)}
    assert not missing, f"documented but not on the dashboard: {missing}"


def test_the_dashboard_is_well_formed():
    assert DASHBOARD["uid"] == "ocrserve" and DASHBOARD["schemaVersion"] >= 36
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    (variable,) = DASHBOARD["templating"]["list"]
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"
    for panel in DASHBOARD["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            refs = [t["refId"] for t in panel["targets"]]
            assert refs and len(refs) == len(set(refs)), panel["title"]


def test_the_alert_rules_are_well_formed():
    names = []
    for group in RULES["groups"]:
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert DURATION.fullmatch(rule["for"]), rule["for"]
            assert rule["labels"]["severity"] in {"critical", "warning"}
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]
            names.append(rule["alert"])
    assert len(names) == len(set(names))
    assert {"OcrRedisUnreachable", "OcrNoWorkers", "OcrQueueNearlyFull", "OcrWorkersSaturated"} <= set(names)
