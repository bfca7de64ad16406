"""`make run`'s supervisor: everything comes up, answers, and Ctrl-C stops all of it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from ops.run_local import free_port

from .helpers import b64

REPO = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_run_local_serves_and_stops_cleanly_on_ctrl_c(text_png):
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("OCR_")}
    env.update(OCR_PORT=str(port), OCR_WORKER_CHILDREN="1", OCR_WEB_WORKERS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "ops.run_local"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(l.decode(errors="replace") for l in proc.stdout))
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any(line.startswith("ready: ") for line in lines):
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        redis_port = int(next(l for l in lines if l.startswith("started Redis")).rsplit(":", 1)[1])
        assert any(l.startswith("worker | ") for l in lines) and any(l.startswith("web    | ") for l in lines)

        response = requests.post(f"http://127.0.0.1:{port}/ocr", json={"image": b64(text_png)}, timeout=120)
        assert response.status_code == 200 and "HELLO" in response.text.upper()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does to the terminal's foreground group
        code = proc.wait(60)
        reader.join(10)
    output = "".join(lines)
    assert code == 0, output
    assert "stopping: gateway, worker, Redis" in output
    assert "Warm shutdown" in output  # the worker was asked to finish, not killed
    assert not listening(port) and not listening(redis_port)
