"""Completion callbacks: a job's `callback_url` receives its status document once the job ends.

- Submit time (the gateway): `check_url` refuses a URL that is not http(s), too long, carries
  credentials or a fragment, or names a refused address literally (`127.0.0.1`, `[::1]`,
  `localhost`). Host names are not resolved there: a request never waits on DNS.
- The job store schedules the delivery in the same compare-and-set that gives the job its final
  status (jobs/store.py: `callback_status` "pending" and an entry in the `<prefix>:callbacks`
  sorted set), so whichever process ends the job, the delivery is recorded exactly once.
- Delivery (`deliver`, run by a thread in each worker child, worker/child.py): the host is
  resolved once, every address it resolves to is checked, and the connection goes to the
  checked address (Host header and TLS SNI/certificate name from the URL), so a DNS answer
  that changes between check and connect (rebinding) cannot redirect it. No redirect is
  followed (a 3xx is a failed attempt), the timeout is short, and at most 64 KiB of the
  answer is read. Any 2xx is delivered; anything else is retried with exponential backoff
  until OCR_CALLBACK_MAX_SECONDS after the job ended; a refused address fails at once.
- Signature: Standard Webhooks (https://www.standardwebhooks.com): headers `webhook-id` (the
  job id, the same on every attempt, for de-duplication), `webhook-timestamp` and
  `webhook-signature` (v1, HMAC-SHA256 with OCR_CALLBACK_SECRET), made by the
  `standardwebhooks` package; receivers verify with any Standard Webhooks library.

Refused addresses: anything not globally routable (loopback, private, link-local, multicast,
reserved, unspecified, shared 100.64/10, documentation ranges, IPv4-mapped forms of them),
unless OCR_CALLBACK_ALLOW_PRIVATE; cloud metadata addresses always.
"""
from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

MAX_URL_LENGTH = 2000
MAX_RESPONSE_BYTES = 64 * 1024
MAX_RETRY_DELAY = 600.0
# Instance metadata services: never called, whatever OCR_CALLBACK_ALLOW_PRIVATE says.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
    "169.254.170.2",  # AWS ECS task metadata
    "169.254.170.23",  # AWS EKS pod identity
    "100.100.100.200",  # Alibaba Cloud
    "fd00:ec2::254",  # AWS over IPv6
    "fd00:ec2::23",  # AWS EKS pod identity over IPv6
))
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class CallbackUrlError(ValueError):
    """The URL may not be called; the message is a sentence for the client."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as in the URL (IDNA-encoded), for Host, SNI and the certificate
    port: int
    path: str  # path and query


def check_url(url: str, allow_private: bool = False) -> Target:
    """Parse and check a callback URL without resolving it (see the module docstring)."""
    if len(url) > MAX_URL_LENGTH:
        raise CallbackUrlError(f"callback_url is longer than {MAX_URL_LENGTH} characters.")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise CallbackUrlError("callback_url contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise CallbackUrlError("callback_url is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise CallbackUrlError("callback_url must be an http:// or https:// URL.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise CallbackUrlError("callback_url must not contain credentials (user:password@).")
    if parts.fragment or url.endswith("#"):
        raise CallbackUrlError("callback_url must not contain a fragment (#...).")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise CallbackUrlError("callback_url has no host.")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise CallbackUrlError("callback_url's host name is not valid.") from None
    literal = _ip(host)
    if literal is not None:
        check_address(literal, allow_private)
    elif host.lower() in _LOCAL_NAMES and not allow_private:
        raise CallbackUrlError("callback_url names this machine (localhost); callbacks go to public addresses only.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def check_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool) -> None:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if address in METADATA_ADDRESSES:
        raise CallbackUrlError(f"callback_url's address {address} is a cloud metadata service; it is never called.")
    if not address.is_global and not allow_private:
        raise CallbackUrlError(f"callback_url's address {address} is not public (loopback, private, link-local, "
                               "multicast or reserved); callbacks go to public addresses only.")
    if address.is_multicast or address.is_unspecified:
        raise CallbackUrlError(f"callback_url's address {address} cannot be called.")


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(target: Target, allow_private: bool) -> str:
    """The one address to connect to: the host resolved once, every answer checked."""
    literal = _ip(target.host)
    if literal is not None:
        check_address(literal, allow_private)
        return str(literal)
    try:
        answers = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ConnectionError(f"cannot resolve {target.host}: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in answers]
    if not addresses:
        raise ConnectionError(f"cannot resolve {target.host}")
    for address in addresses:  # one refused answer refuses the host: no picking the "good" one
        check_address(address, allow_private)
    return str(addresses[0])


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, with SNI and certificate checks for the URL's host name."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float, context: ssl.SSLContext):
        super().__init__(address, port, timeout=timeout, context=context)
        self._server_name = server_name
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self._server_name)


def sign(secret: str, msg_id: str, body: str, when: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for `body`."""
    when = when or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
    }


def payload(document: dict[str, Any], max_bytes: int) -> str:
    """The callback body: the Standard Webhooks envelope {"type": "job.<status>", "timestamp",
    "data": the job's status document}. A body past `max_bytes` goes without the result
    ("result": null, "result_omitted": true): GET the job for it."""
    envelope = {
        "type": f"job.{document['status']}",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": document,
    }
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    if len(body.encode()) > max_bytes and document.get("result") is not None:
        envelope["data"] = {**document, "result": None, "result_omitted": True}
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    return body


def deliver(url: str, body: str, headers: dict[str, str], timeout: float, allow_private: bool) -> None:
    """POST once. Raises CallbackUrlError (refused: do not retry) or ConnectionError (retry)."""
    target = check_url(url, allow_private)
    address = resolve(target, allow_private)
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    if target.port != (443 if target.scheme == "https" else 80):
        host_header += f":{target.port}"
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(address, target.port, target.host, timeout, ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(address, target.port, timeout=timeout)
    data = body.encode()
    try:
        connection.request("POST", target.path, body=data, headers={
            "Host": host_header, "Content-Type": "application/json", "User-Agent": "ocrserve-callback/1",
            "Content-Length": str(len(data)), **headers,
        })
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        raise ConnectionError(f"{type(exc).__name__}: {exc}"[:300]) from None
    finally:
        connection.close()
    if 300 <= status < 400:
        raise ConnectionError(f"HTTP {status}: redirects are not followed")
    if not 200 <= status < 300:
        raise ConnectionError(f"HTTP {status}")


def retry_delay(attempts: int, initial: float) -> float:
    """Seconds before the next attempt after `attempts` failed ones: initial, 2x, 4x, ... at most 10 min."""
    return min(MAX_RETRY_DELAY, initial * 2 ** max(0, attempts - 1))
