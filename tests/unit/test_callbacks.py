"""Completion callbacks against a real Redis and a real HTTP receiver on loopback, no Celery:
URL and address rules, once-per-job scheduling under racing final transitions, signed
delivery, retries, redirects refused, giving up."""
from __future__ import annotations

import json
import threading
import time

import pytest
from standardwebhooks.webhooks import Webhook

from jobs import callbacks
from jobs.callbacks import CallbackUrlError, check_url
from jobs.errors import ErrorCode
from jobs.model import FileMeta, JobOptions, Status
from jobs.settings import Settings
from jobs.store import JobStore
from tests.callback_receiver import SECRET, Receiver
from worker import delivery


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def settings(**overrides) -> Settings:
    values = {"callback_secret": SECRET, "callback_allow_private": True, "callback_retry_initial": 0.05,
              "callback_timeout": 3, **overrides}
    return Settings(**values)


def job_with_callback(store: JobStore, url: str) -> str:
    job = store.create([b"x"], JobOptions(), [FileMeta("a.png", "png")], ttl=60, callback_url=url)
    assert not isinstance(job, str)
    return job.id


def deliver_all(store: JobStore, config: Settings, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not delivery.run_once(store, config):
            due = store.redis.zrange(store.callbacks_key, 0, 0, withscores=True)
            if not due:
                return
            time.sleep(0.06)


@pytest.mark.parametrize("url, words", [
    ("ftp://example.com/x", "http:// or https://"),
    ("http://user:pw@example.com/", "credentials"),
    ("http://example.com/#frag", "fragment"),
    ("http://example.com/" + "a" * 2000, "longer than"),
    ("http:///nohost", "no host"),
    ("http://exa mple.com/", "spaces"),
    ("http://127.0.0.1:8080/", "not public"),
    ("http://[::1]/", "not public"),
    ("http://10.1.2.3/", "not public"),
    ("http://192.168.0.1/", "not public"),
    ("http://100.64.0.1/", "not public"),
    ("http://[::ffff:127.0.0.1]/", "not public"),
    ("http://224.0.0.1/", "cannot be called|not public"),
    ("http://localhost:9000/", "localhost"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
])
def test_a_bad_or_private_url_is_refused_by_default(url, words):
    with pytest.raises(CallbackUrlError, match=words):
        check_url(url)


def test_metadata_addresses_stay_refused_when_private_ones_are_allowed():
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://100.100.100.200/",
                "http://[::ffff:169.254.169.254]/"):
        with pytest.raises(CallbackUrlError, match="metadata"):
            check_url(url, allow_private=True)
    assert check_url("http://127.0.0.1:8080/a?b=1", allow_private=True).path == "/a?b=1"
    assert check_url("https://hooks.example.com/x").port == 443


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """getaddrinfo answering `answers` for these names; returns the names asked, in order."""
    import socket

    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            asked.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_host_name_is_checked_after_resolving_it(monkeypatch):
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.215.14", "127.0.0.1"], "inside.example.com": ["10.0.0.7"]})
    with pytest.raises(CallbackUrlError, match="127.0.0.1 is not public"):  # one bad answer refuses the host
        callbacks.resolve(check_url("http://hooks.example.com/"), allow_private=False)
    with pytest.raises(CallbackUrlError, match="not public"):
        callbacks.resolve(check_url("http://inside.example.com/"), allow_private=False)
    assert callbacks.resolve(check_url("http://inside.example.com/"), allow_private=True) == "10.0.0.7"


def test_the_connection_goes_to_the_checked_address_with_the_url_host(store, receiver, monkeypatch):
    """Resolved once: the request reaches the address that was checked, named by the URL's host."""
    asked = fake_dns(monkeypatch, {"hooks.example.com": ["127.0.0.1"]})
    url = receiver.url.replace("127.0.0.1", "hooks.example.com")
    job_id = job_with_callback(store, url)
    store.cancel(job_id)
    deliver_all(store, settings())
    assert asked == ["hooks.example.com"]
    assert receiver.received[0].headers["Host"] == f"hooks.example.com:{receiver.server.server_port}"


def test_the_delivery_is_scheduled_once_whoever_ends_the_job(store):
    job_id = job_with_callback(store, "http://127.0.0.1:9/")
    assert store.start(job_id, "w:1", hard_time_limit=30, max_attempts=2)[0] == "running"
    # A worker's result, a cancel and a failure race for the final status; a second pass changes nothing.
    racers = [lambda: store.succeed(job_id, {"r": 1}, worker="w:1"), lambda: store.cancel(job_id),
              lambda: store.fail(job_id, ErrorCode.INTERNAL_ERROR, "x")] * 3
    threads = [threading.Thread(target=racer) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.redis.zcard(store.callbacks_key) == 1
    job = store.get(job_id)
    assert job is not None and job.finished and job.callback_status == "pending"
    assert job.public()["callback"] == {"url": "http://127.0.0.1:9/", "status": "pending", "attempts": 0,
                                        "last_error": None}
    assert not store.fail(job_id, ErrorCode.INTERNAL_ERROR, "again")
    assert store.redis.zcard(store.callbacks_key) == 1


def test_a_job_without_callback_schedules_nothing_and_shows_no_callback(store):
    job = store.create([b"x"], JobOptions(), [FileMeta("a.png", "png")], ttl=60)
    assert not isinstance(job, str)
    store.cancel(job.id)
    assert store.redis.zcard(store.callbacks_key) == 0
    assert "callback" not in store.get(job.id).public()


def test_exhausted_attempts_schedule_the_callback_too(store):
    job_id = job_with_callback(store, "http://127.0.0.1:9/")
    assert store.start(job_id, "w:1", hard_time_limit=30, max_attempts=1)[0] == "running"
    store.redis.hset(store.job_key(job_id), "status", "queued")  # as a re-queue after a lost worker leaves it
    assert store.start(job_id, "w:2", hard_time_limit=30, max_attempts=1)[0] == "exhausted"
    assert store.redis.zcard(store.callbacks_key) == 1


def test_a_signed_delivery_is_retried_after_a_receiver_error_and_delivered_once(store, receiver):
    receiver.statuses = [500, 200]
    job_id = job_with_callback(store, receiver.url)
    store.cancel(job_id)
    config = settings()
    # Several deliverers race (as every worker child runs one): the claim lets one at a time attempt it.
    threads = [threading.Thread(target=deliver_all, args=(store, config)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.answered for r in receiver.received] == [500, 200]
    for got in receiver.received:
        assert got.path == "/hook?x=1"
        assert got.headers["webhook-id"] == job_id
        # The standardwebhooks verifier accepts the signature (and rejects another secret's).
        event = Webhook(SECRET).verify(got.body, got.headers)
        assert event["type"] == "job.canceled" and event["data"]["id"] == job_id
        assert event["data"]["status"] == "canceled"
        with pytest.raises(Exception, match="signature"):
            Webhook("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY").verify(got.body, got.headers)
    job = store.get(job_id)
    assert job is not None
    assert job.public()["callback"] == {"url": receiver.url, "status": "delivered", "attempts": 2,
                                        "last_error": None}
    assert job.callback_attempts == 2 and store.redis.zcard(store.callbacks_key) == 0
    time.sleep(0.3)
    deliver_all(store, config)
    assert len(receiver.received) == 2  # delivered: never sent again


def test_a_private_address_is_refused_at_delivery_by_default(store, receiver, monkeypatch):
    fake_dns(monkeypatch, {"rebound.example.com": ["127.0.0.1"]})  # public at submit, loopback by delivery
    job_id = job_with_callback(store, receiver.url.replace("127.0.0.1", "rebound.example.com"))
    store.cancel(job_id)
    deliver_all(store, settings(callback_allow_private=False))
    assert receiver.received == []
    job = store.get(job_id)
    assert job is not None and job.callback_status == "failed" and job.callback_attempts == 1
    assert "not public" in (job.callback_error or "")


def test_redirects_are_not_followed_and_retries_stop_after_the_time_allowed(store, receiver):
    receiver.statuses = [302]
    receiver.location = "http://127.0.0.1:9/elsewhere"
    job_id = job_with_callback(store, receiver.url)
    store.fail(job_id, ErrorCode.INTERNAL_ERROR, "x")
    deliver_all(store, settings(callback_max_seconds=0.3), rounds=40)
    job = store.get(job_id)
    assert job is not None and job.callback_status == "failed"
    assert "redirects are not followed" in (job.callback_error or "")
    assert 1 <= len(receiver.received) < 10 and all(r.path == "/hook?x=1" for r in receiver.received)


def test_a_large_result_is_left_out_of_the_body(store, receiver):
    job_id = job_with_callback(store, receiver.url)
    assert store.start(job_id, "w:1", hard_time_limit=30, max_attempts=2)[0] == "running"
    store.succeed(job_id, {"processing_time": 1.0, "results": [{"text": "x" * 5000}] * 400}, worker="w:1")
    deliver_all(store, settings(callback_max_body_bytes=100_000))
    event = json.loads(receiver.received[0].body)
    assert event["type"] == "job.succeeded" and event["data"]["result"] is None
    assert event["data"]["result_omitted"] is True
    assert store.get(job_id).status == Status.SUCCEEDED


def test_the_secret_must_be_in_the_standard_form():
    with pytest.raises(ValueError, match="whsec_"):
        Settings(callback_secret="not-a-secret")
