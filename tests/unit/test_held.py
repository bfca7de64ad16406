"""worker/held.py against kombu's own Redis transport and sweep, on the unit layer's real Redis:
a message whose holder refreshes it stays held past the visibility timeout; one whose holder
stopped goes back to its queue at the consuming end; an acknowledged one is never written back.
"""
from __future__ import annotations

import time

import pytest
from kombu import Connection, Exchange, Queue
from pydantic import ValidationError

from jobs.connection import broker_transport_options
from jobs.settings import Settings
from worker.held import refresh

QUEUE = Queue("held-unit", Exchange("held-unit", type="direct"), routing_key="held-unit")


@pytest.fixture
def channel(redis, redis_url):
    settings = Settings(redis_url=redis_url)
    with Connection(redis_url, transport_options=broker_transport_options(settings)) as connection:
        channel = connection.channel()
        producer = connection.Producer(channel)
        for number in range(3):
            producer.publish({"n": number}, exchange=QUEUE.exchange, routing_key="held-unit", declare=[QUEUE])
        yield channel
        channel.close()


def take(channel):
    message = QUEUE(channel).get(no_ack=False)  # held: in kombu's unacked hash and index
    assert message is not None
    return message


def test_a_refreshed_message_stays_held_and_a_stale_one_goes_back_first(channel, redis):
    live, dead = take(channel), take(channel)
    long_ago = time.time() - 60  # both delivered long before the visibility timeout
    redis.zadd(channel.unacked_index_key, {live.delivery_tag: long_ago, dead.delivery_tag: long_ago})

    assert refresh(channel, [live.delivery_tag]) == 1
    channel.qos.restore_visible(num=None, interval=1)  # kombu's sweep, as every worker runs it

    assert set(redis.hkeys("unacked")) == {live.delivery_tag.encode()}
    again = take(channel)  # restored at the consuming end: ahead of the message never taken
    assert again.payload == dead.payload and again.delivery_info.get("redelivered")


def test_an_acknowledged_message_is_never_written_back(channel, redis):
    message = take(channel)
    message.ack()
    assert refresh(channel, [message.delivery_tag]) == 0
    assert not redis.zcard(channel.unacked_index_key) and not redis.hlen("unacked")


def test_the_visibility_timeout_defaults_to_the_lease_and_outlasts_two_sweeps():
    settings = Settings()
    assert settings.broker_visibility_timeout == settings.lease_ttl
    options = broker_transport_options(settings)
    assert options["visibility_timeout"] == settings.lease_ttl
    assert options["unacked_restore_interval"] == settings.heartbeat_interval
    with pytest.raises(ValidationError, match="2 x OCR_HEARTBEAT_INTERVAL"):
        Settings(visibility_timeout=2.0, heartbeat_interval=1.0)
