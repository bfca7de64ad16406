"""The unit layer: the job contract and the worker's job runner, in seconds, with no service stack.

A real redis-server (the one `make run` uses) on a free loopback port, no Celery, no gateway,
no models; every test gets an empty database.
"""
from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from redis import Redis

from jobs.store import JobStore
from ops.run_local import find_redis_server, free_port


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("unit-redis")
    proc = subprocess.Popen([find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(data), "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.02)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def store(redis: Redis) -> JobStore:
    return JobStore(redis, prefix="unit")
