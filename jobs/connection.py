"""Redis connections for every process: one standalone Redis, or a Sentinel-managed master.

`OCR_REDIS_URL` is either `redis://[:password@]host:port/db` or, for Redis Sentinel, kombu's
form `sentinel://host1:26379;sentinel://host2:26379;sentinel://host3:26379/db` with the
master's name in `OCR_REDIS_SENTINEL_MASTER`. The broker (kombu's `sentinel` transport), the
job store and the sync wait all follow the master the sentinels name, so a failover moves
the whole service to the promoted replica.

Two retry policies, chosen by the caller:
- fail fast (the gateway, liveness reports): a request during an outage is answered 503 at
  once, never held while Redis is away;
- ride out an outage (a worker's job writes): connection errors are retried with a capped
  backoff for up to `seconds`, so a job running while Redis restarts or fails over still
  stores its result.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from redis import Redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError, TimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel

from .settings import Settings

T = TypeVar("T")
# Errors a reconnect may cure: refused or dropped connections, timeouts, LOADING while Redis
# replays its AOF (BusyLoadingError is a ConnectionError), a demoted master (redis-py's
# Sentinel connections turn READONLY into a ConnectionError).
RETRYABLE = (ConnectionError, TimeoutError, socket.timeout)


class OutageRetry(Retry):
    """Retry connection errors for up to `seconds` in all, sleeping 0.05 s doubling to 1 s."""

    def __init__(self, seconds: float):
        super().__init__(ExponentialBackoff(cap=1.0, base=0.05), retries=-1, supported_errors=RETRYABLE)
        self.seconds = seconds

    def call_with_retry(self, do: Callable[[], T], fail: Callable[..., Any],
                        is_retryable: Callable[[Exception], bool] | None = None,
                        with_failure_count: bool = False) -> T:
        deadline = time.monotonic() + self.seconds
        failures = 0
        while True:
            try:
                return do()
            except RETRYABLE as error:
                if is_retryable is not None and not is_retryable(error):
                    raise
                failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                time.sleep(min(self._backoff.compute(failures), left))

    def get_retries(self) -> int:
        return 1_000_000  # "retrying": redis-py compares failure counts against this


def fail_fast() -> Retry:
    """One immediate reconnect (a connection the server closed while idle), then the error."""
    return Retry(NoBackoff(), 1, supported_errors=RETRYABLE)


@dataclass(frozen=True)
class SentinelTarget:
    hosts: list[tuple[str, int]]
    db: int
    password: str | None


def sentinel_target(url: str) -> SentinelTarget | None:
    """The sentinels, database and master password of a `sentinel://...;sentinel://...` URL, or None."""
    if not url.startswith("sentinel://"):
        return None
    hosts: list[tuple[str, int]] = []
    db, password = 0, None
    for part in url.split(";"):
        parsed = urlsplit(part.strip())
        if parsed.scheme != "sentinel" or not parsed.hostname:
            raise ValueError(f"not a sentinel URL: {part!r}")
        hosts.append((parsed.hostname, parsed.port or 26379))
        if parsed.password:
            password = unquote(parsed.password)
        if parsed.path.strip("/"):
            db = int(parsed.path.strip("/"))
    return SentinelTarget(hosts, db, password)


def connect(settings: Settings, *, socket_timeout: float, connect_timeout: float = 2.0,
            retry: Retry | None = None) -> Redis:
    """A client for the service's Redis (or its current Sentinel master)."""
    policy = retry or fail_fast()
    options: dict[str, Any] = {
        "socket_timeout": socket_timeout, "socket_connect_timeout": connect_timeout,
        "retry": policy, "retry_on_error": list(RETRYABLE),
    }
    target = sentinel_target(settings.redis_url)
    if target is None:
        return Redis.from_url(settings.redis_url, **options)
    sentinel = Sentinel(target.hosts, sentinel_kwargs={"socket_timeout": 1.0, "socket_connect_timeout": 1.0})
    return sentinel.master_for(settings.redis_sentinel_master, redis_class=Redis, db=target.db,
                               password=target.password, **options)


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    """kombu's transport options: the visibility timeout and its sweep, and the master's name with Sentinel."""
    options: dict[str, Any] = {
        # A held message's delivery time is refreshed every heartbeat interval by the worker
        # holding it (worker/held.py); one that stops moving for this long lost its worker.
        "visibility_timeout": settings.broker_visibility_timeout,
        # Every worker sweeps for such messages each heartbeat interval (kombu's default scans
        # every 10th of its 10 s sweeps, ~100 s), so they are back within the visibility
        # timeout + 2 intervals. The sweep's mutex expires after one interval: a worker killed
        # mid-sweep (a few ms of each interval) delays the next sweep by one interval, not by
        # kombu's default 300 s.
        "unacked_restore_interval": settings.heartbeat_interval,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": settings.heartbeat_interval,
    }
    if sentinel_target(settings.redis_url) is not None:
        options["master_name"] = settings.redis_sentinel_master
        options["sentinel_kwargs"] = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    return options
