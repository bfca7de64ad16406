"""deploy/k8s, checked offline: every core resource against the Kubernetes API schemas
(kubernetes-validate's bundled copies), the KEDA ScaledObject against its JSON schema, the
kustomization complete, and the service's invariants: compose's hardening, the service's own
probes, a grace period beyond the soft shutdown, KEDA on the real queue, Redis reachable only
by the gateway, the workers and KEDA."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml

from jobs.settings import Settings
from ops import commands

from .dockerfile import parse

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
KEDA_SCHEMA = json.loads((Path(__file__).parent / "keda_scaledobject.schema.json").read_text())
# The oldest Kubernetes minor still commonly run and the newest the package knows.
VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
KINDS = {"Namespace", "ConfigMap", "StatefulSet", "Service", "Deployment", "PodDisruptionBudget",
         "NetworkPolicy", "ScaledObject"}


def kustomization() -> dict:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def resources() -> list[tuple[str, dict]]:
    found = []
    for name in kustomization()["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text()):
            if doc:
                found.append((name, doc))
    return found


def one(kind: str, name: str) -> dict:
    matches = [doc for _, doc in resources() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(matches) == 1, (kind, name)
    return matches[0]


def pod_templates() -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc["spec"]["template"] for _, doc in resources()
            if doc["kind"] in ("Deployment", "StatefulSet")}


def container(workload: str) -> dict:
    containers = pod_templates()[workload]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def selects(selector: dict, labels: dict) -> bool:
    """A label selector (matchLabels and In expressions) against a pod's labels."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def test_the_kustomization_lists_every_file_once():
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed))
    on_disk = sorted(p.name for p in K8S.glob("*.y*ml") if p.name != "kustomization.yaml")
    assert sorted(listed) == on_disk
    assert {doc["kind"] for _, doc in resources()} == KINDS


@pytest.mark.parametrize("version", VERSIONS)
def test_core_resources_match_the_kubernetes_schemas(version):
    checked = 0
    for name, doc in resources():
        if doc["apiVersion"].startswith("keda.sh/"):
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)  # strict: unknown fields fail too
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(f"{name}: {exc.message} at {'.'.join(map(str, exc.path))}") from None
        checked += 1
    assert checked == len(resources()) - 1


def test_the_validator_catches_a_mistake():
    broken = copy.deepcopy(one("Deployment", "worker"))
    broken["spec"]["template"]["spec"]["terminationGracePeriod"] = 90  # a misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_the_scaled_object_matches_the_keda_schema():
    scaled = one("ScaledObject", "worker")
    jsonschema.Draft202012Validator.check_schema(KEDA_SCHEMA)
    jsonschema.validate(scaled, KEDA_SCHEMA, cls=jsonschema.Draft202012Validator)
    # The schema refuses what KEDA would refuse or ignore at run time.
    for mistake in ({"listLength": 4}, {"listName": None}, {"queueName": "ocr"}):
        broken = copy.deepcopy(scaled)
        metadata = broken["spec"]["triggers"][0]["metadata"]
        for key, value in mistake.items():
            if value is None:
                del metadata[key]
            else:
                metadata[key] = value
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, KEDA_SCHEMA, cls=jsonschema.Draft202012Validator)


def test_pods_carry_the_compose_hardening():
    image_uid = {name: int(parse(REPO / f"Dockerfile.{image}").final.all("USER")[-1].args.split(":")[0])
                 for name, image in (("gateway", "web"), ("worker", "worker"))}
    for workload, template in pod_templates().items():
        spec = template["spec"]
        security = spec["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] >= 999, workload
        assert security["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec["automountServiceAccountToken"] is False
        if workload in image_uid:
            assert security["runAsUser"] == security["runAsGroup"] == image_uid[workload] == 10001
        (box,) = spec["containers"]
        assert box["securityContext"] == {
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
        }, workload
        mounts = {m["mountPath"]: m["name"] for m in box["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], f"{workload}: /tmp is an emptyDir (compose: tmpfs)"
        assert "limits" in box["resources"] and "memory" in box["resources"]["limits"]
    assert kustomization()["namespace"] == one("Namespace", "ocrserve")["metadata"]["name"]
    assert one("Namespace", "ocrserve")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_images_run_their_own_commands_and_probes():
    gateway, worker = container("gateway"), container("worker")
    for box in (gateway, worker):
        assert "command" not in box and "args" not in box  # the image's CMD: ops/commands.py
    images = {entry["name"] for entry in kustomization()["images"]}
    assert {gateway["image"], worker["image"]} == images == {"ocrserve-web", "ocrserve-worker"}
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    assert compose["web"]["image"].startswith("ocrserve-web:") and compose["worker"]["image"].startswith("ocrserve-worker:")

    port = {p["name"]: p["containerPort"] for p in gateway["ports"]}["http"]
    env = {e["name"]: e["value"] for e in gateway["env"]}
    assert port == int(env["OCR_PORT"]) == Settings().port
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert worker[probe]["exec"]["command"] == list(commands.WORKER_HEALTHCHECK), probe
        assert worker[probe]["timeoutSeconds"] >= 15  # the Celery ping's own timeout is 5 s, plus the start
    startup = worker["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120  # compose's start_period: models load


def test_grace_periods_outlast_the_soft_shutdown_and_the_sync_timeout():
    settings = Settings()
    worker_env = {e["name"]: e["value"] for e in container("worker")["env"]}
    soft = float(worker_env["OCR_SOFT_SHUTDOWN_TIMEOUT"])
    assert soft == settings.soft_shutdown_timeout == 60
    worker_grace = pod_templates()["worker"]["spec"]["terminationGracePeriodSeconds"]
    assert worker_grace >= soft + 20, "the SIGKILL would come before the soft shutdown ends"
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    assert f"{worker_grace}s" in compose["worker"]["stop_grace_period"]  # the same figure as compose
    gateway = pod_templates()["gateway"]["spec"]
    pause = int(gateway["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert gateway["terminationGracePeriodSeconds"] > pause + settings.sync_timeout + 5  # gunicorn's graceful_timeout


def test_keda_scales_the_workers_on_the_queue():
    scaled = one("ScaledObject", "worker")
    worker = one("Deployment", "worker")
    assert scaled["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                                "name": worker["metadata"]["name"]}
    assert "replicas" not in worker["spec"], "the ScaledObject owns the replica count"
    assert scaled["spec"]["minReplicaCount"] >= 1, "with no worker, /readyz takes every gateway out of service"
    (trigger,) = scaled["spec"]["triggers"]
    settings_map = one("ConfigMap", "ocr-settings")["data"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == settings_map["OCR_QUEUE_NAME"] == Settings().queue_name
    # KEDA's operator resolves the address in its own namespace: the Service's full name.
    redis_url = urlsplit(settings_map["OCR_REDIS_URL"])
    service = one("Service", redis_url.hostname)
    host, _, port = trigger["metadata"]["address"].partition(":")
    assert host == f"{service['metadata']['name']}.{kustomization()['namespace']}.svc.cluster.local"
    assert int(port) == redis_url.port == service["spec"]["ports"][0]["port"]
    assert trigger["metadata"]["databaseIndex"] == redis_url.path.lstrip("/")


def test_redis_keeps_its_append_only_file_on_a_volume_claim():
    redis = one("StatefulSet", "redis")
    args = container("redis")["args"]
    flags = dict(zip(args[1::2], args[2::2]))
    assert args[0] == "redis-server"
    assert flags["--appendonly"] == "yes" and flags["--appendfsync"] == "everysec"
    assert flags["--maxmemory-policy"] == "noeviction" and flags["--save"] == ""
    (claim,) = redis["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container("redis")["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == flags["--dir"] == "/data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_only_the_gateway_the_workers_and_keda_reach_redis():
    labels = {name: template["metadata"]["labels"] for name, template in pod_templates().items()}
    policy = one("NetworkPolicy", "redis")
    assert selects(policy["spec"]["podSelector"], labels["redis"])
    assert "Ingress" in policy["spec"]["policyTypes"]
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 6379}]
    same_namespace = [peer for peer in rule["from"] if "namespaceSelector" not in peer]
    admitted = {name for name, pod in labels.items() if any(selects(p["podSelector"], pod) for p in same_namespace)}
    assert admitted == {"gateway", "worker"}
    (other,) = [peer for peer in rule["from"] if "namespaceSelector" in peer]
    assert other["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "keda"}
    # The workers take no connections and reach only Redis and DNS.
    worker = one("NetworkPolicy", "worker")
    assert worker["spec"]["ingress"] == [] and set(worker["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    reached = [peer["podSelector"] for rule in worker["spec"]["egress"] for peer in rule["to"]
               if "namespaceSelector" not in peer]
    assert [name for name, pod in labels.items() if any(selects(s, pod) for s in reached)] == ["redis"]


def test_every_selector_selects_its_pods():
    labels = {name: template["metadata"]["labels"] for name, template in pod_templates().items()}
    for _, doc in resources():
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind in ("Deployment", "StatefulSet"):
            assert selects(doc["spec"]["selector"], labels[name]), name
        elif kind == "Service":
            assert [n for n, pod in labels.items() if selects({"matchLabels": doc["spec"]["selector"]}, pod)] == [name]
        elif kind in ("PodDisruptionBudget", "NetworkPolicy"):
            selector = doc["spec"]["selector" if kind == "PodDisruptionBudget" else "podSelector"]
            assert [n for n, pod in labels.items() if selects(selector, pod)] == [name], (kind, name)


def test_the_operations_guide_has_a_kubernetes_section_naming_every_file():
    guide = (REPO / "docs" / "OPERATIONS.md").read_text()
    assert "\n## Kubernetes\n" in guide
    section = guide.split("\n## Kubernetes\n", 1)[1].split("\n## ", 1)[0]
    for name in kustomization()["resources"]:
        stem = name.removesuffix(".yaml")
        assert name in section or (stem.startswith("networkpolicy-") and "networkpolicy-*.yaml" in section), name
    for file in ("ocrserve-dashboard.json", "ocrserve-alerts.yaml"):
        assert file in section and (REPO / "deploy" / "monitoring" / file).is_file()
