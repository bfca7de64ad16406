"""Small helpers the service tests share."""
from __future__ import annotations

import base64
import struct
import time
import zlib

import requests

TERMINAL = {"succeeded", "failed", "canceled"}
OCR_TIMEOUT = 120  # generous for a busy 2-core CI box; a healthy run never waits this long


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny but well-formed PNG whose header claims width x height pixels: the gateway must
    refuse it from the header alone."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def wait_for(url: str, statuses=TERMINAL, timeout: float = OCR_TIMEOUT) -> dict:
    """Poll GET /jobs/<id> until its status is one of statuses."""
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(url, timeout=10)
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job stuck in {job['status']}: {job}"
        time.sleep(0.05)


def submit(base_url: str, data: bytes, **fields) -> dict:
    """POST /jobs with a JSON body; returns the 202 body."""
    response = requests.post(base_url + "/jobs", json={"image": b64(data), **fields}, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()


class HttpResponse:
    """A requests response with the few Flask test-response names the tests use."""

    def __init__(self, response: requests.Response):
        self.raw = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.mimetype = response.headers.get("Content-Type", "").split(";")[0].strip()

    def get_json(self):
        return self.raw.json()

    def get_data(self, as_text: bool = False):
        return self.raw.text if as_text else self.raw.content


class HttpClient:
    """Flask's test-client calls (get/post/put/delete, multipart as tuples) over real HTTP."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def open(self, method: str, path: str, data=None, json=None, content_type: str | None = None):
        kwargs: dict = {"timeout": 60}
        if json is not None:
            kwargs["json"] = json
        elif isinstance(data, dict) and content_type == "multipart/form-data":
            files, fields = {}, {}
            for name, value in data.items():
                if isinstance(value, tuple):
                    stream, filename, *mimetype = value
                    files[name] = (filename, stream.read(), *mimetype)
                else:
                    fields[name] = value
            if not files:  # still send multipart, like the test client does
                files = {name: (None, value) for name, value in fields.items()}
                fields = {}
            kwargs.update(files=files, data=fields)
        elif data is not None:
            kwargs.update(data=data, headers={"Content-Type": content_type} if content_type else {})
        return HttpResponse(self.session.request(method, self.base_url + path, **kwargs))

    def get(self, path: str, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.open("POST", path, **kwargs)

    def put(self, path: str, **kwargs):
        return self.open("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.open("DELETE", path, **kwargs)
