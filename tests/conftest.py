"""Shared fixtures: the real service stack (Redis, Celery worker, gunicorn gateway) and a Flask client.

`live_service` is session-scoped and reused by the service and browser tests. Destructive
tests (stopping workers) start their own stack with `start_stack` so they never disturb it.
"""
from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageDraw, ImageFont
from redis import Redis

from tests.sroie import RECEIPT
from jobs.store import JobStore
from ops.run_local import LocalStack
from jobs.settings import Settings

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

# Tests own their environment: no OCR_* setting leaks in from the shell.
BASE_ENV = {name: value for name, value in os.environ.items() if not name.startswith("OCR_")}
# One child with both cores: the suite's jobs run one at a time and as fast as the box allows.
TEST_WORKER_ENV = {"OCR_WORKER_CHILDREN": "1", "OCR_LOG_LEVEL": "INFO"}
TEST_GATEWAY_ENV = {"OCR_WEB_WORKERS": "1", "OCR_WEB_THREADS": "16"}


@dataclass
class ServiceStack:
    """A running Redis + worker + gateway; extra gateways may share the Redis and worker."""

    processes: LocalStack
    base_url: str
    redis_url: str
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def redis(self) -> Redis:
        return Redis.from_url(self.redis_url)

    @property
    def store(self) -> JobStore:
        return JobStore(self.redis)

    def url(self, path: str) -> str:
        return self.base_url + path

    def add_gateway(self, name: str, env: dict[str, str]) -> str:
        """Another gateway on the same Redis and worker, e.g. with a tiny sync timeout."""
        base_url = self.processes.start_gateway(name=name, env={**TEST_GATEWAY_ENV, **env})
        wait_http(base_url + "/healthz")
        return base_url

    def start_worker(self, env: dict[str, str] | None = None) -> None:
        self.processes.start_worker(env={**TEST_WORKER_ENV, **self.env, **(env or {})})

    def stop_worker(self) -> None:
        """Graceful stop (SIGTERM): the worker finishes its current job and leaves."""
        self.processes.stop("worker")

    def kill_worker(self) -> None:
        """Sudden death of the whole worker (main process and children), like a lost machine."""
        import signal

        self.processes.signal("worker", signal.SIGKILL)
        self.processes.procs["worker"].wait(10)

    def wait_ready(self, timeout: float = 120) -> dict:
        return self.processes.wait_ready(self.base_url, timeout)

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        self.processes.stop_all()


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or no worker process yet
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:g}s")


def start_stack(log_dir: Path, env: dict[str, str] | None = None) -> ServiceStack:
    """Redis on a free port, one worker, one gateway; returns once /readyz says ready."""
    env = dict(env or {})
    processes = LocalStack(env=BASE_ENV, log_dir=log_dir)
    try:
        redis_url = processes.start_redis()
        processes.start_worker(env={**TEST_WORKER_ENV, **env})
        base_url = processes.start_gateway(env={**TEST_GATEWAY_ENV, **env})
        stack = ServiceStack(processes, base_url, redis_url, log_dir, env)
        stack.wait_ready()
    except BaseException:
        processes.stop_all()
        for name in ("worker", "web"):
            path = log_dir / f"{name}.log"
            if path.exists():
                print(f"--- {name}.log ---\n{path.read_text(errors='replace')[-4000:]}")
        raise
    return stack


@pytest.fixture(scope="session")
def live_service(tmp_path_factory):
    """The real service on free ports: Redis, a Celery worker (models warm) and gunicorn."""
    stack = start_stack(tmp_path_factory.mktemp("live-service"))
    yield stack
    stack.close()


@pytest.fixture(scope="session")
def start_service(tmp_path_factory):
    """Start a private stack (for tests that stop or kill its parts); all are stopped at session end."""
    stacks: list[ServiceStack] = []

    def start(name: str, env: dict[str, str] | None = None) -> ServiceStack:
        stack = start_stack(tmp_path_factory.mktemp(name), env)
        stacks.append(stack)
        return stack

    yield start
    for stack in stacks:
        stack.close()


@pytest.fixture
def settings() -> Settings:
    """Settings for an in-process app whose Redis is deliberately unreachable."""
    return Settings(redis_url="redis://127.0.0.1:9/0")


@pytest.fixture
def app(settings):
    from web import create_app

    app = create_app(settings)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


# ---------- test images ----------

def render_text_image(lines: list[str], size: int = 40, width: int | None = None, fmt: str = "PNG") -> bytes:
    """Black text on white, one line per entry, encoded as fmt."""
    font = ImageFont.truetype(FONT, size)
    line_height = int(size * 1.6)
    text_width = max(int(font.getlength(line)) for line in lines)
    image = Image.new("RGB", (width or text_width + 2 * size, line_height * len(lines) + 2 * size), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((size, size + i * line_height), line, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def make_text_image():
    """render_text_image, for tests that need their own text."""
    return render_text_image


@pytest.fixture(scope="session")
def text_png() -> bytes:
    return render_text_image(["HELLO WORLD", "Invoice 12345"])


@pytest.fixture(scope="session")
def receipt_jpeg() -> bytes:
    """A real scanned receipt (about 2 s of OCR on one core pair): a job that stays running a while."""
    return RECEIPT.read_bytes()
