"""A Pub/Sub subscription's backlog and dead letters, read from Cloud Monitoring (an
in-process fake of MetricService over a real gRPC channel) and its dead-letter topic from the
Subscriber API (the Pub/Sub fake): the newest points, the sampling cost of the stream, and
every failure (permission denied, no data, no answer in time, no server) as one status
line, never an error. No Spark."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.config import LakehouseConfig, SourceConfig
from lakehouse.errors import ConfigError
from lakehouse.monitoring.status import render_source_status
from lakehouse.sources.pubsub.backlog import (
    DEAD_LETTERED,
    OLDEST_UNACKED,
    UNDELIVERED,
    Backlog,
    BacklogSampler,
    MonitoringClient,
    read_backlog,
)
from lakehouse.sources.pubsub.health import render_subscription, subscription_health
from lakehouse.sources.pubsub.source import PubSubSource, monitoring_endpoint
from tests.conftest import make_config
from tests.sources.fake_monitoring import FakeMonitoring
from tests.sources.fake_pubsub import FakePubSub
from tests.sources.test_pubsub import PROJECT, new_subscription

NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


def source(pubsub: FakePubSub, monitoring: FakeMonitoring, subscription: str) -> SourceConfig:
    return SourceConfig(
        type="pubsub",
        pubsub_subscription=subscription,
        pubsub_endpoint=pubsub.endpoint,
        pubsub_monitoring_endpoint=monitoring.endpoint,
        pubsub_insecure=True,
    )


def client(monitoring: FakeMonitoring, timeout: float = 5.0) -> MonitoringClient:
    return MonitoringClient(monitoring.endpoint, insecure=True, timeout=timeout)


def test_the_backlog_is_the_newest_point_of_each_gauge(monitoring: FakeMonitoring) -> None:
    sub = f"{PROJECT}/subscriptions/backlog-newest"
    for minutes, undelivered, oldest in ((20, 900, 3000), (6, 40, 400), (1, 12, 185)):
        monitoring.write(sub, UNDELIVERED, NOW - timedelta(minutes=minutes), undelivered)
        monitoring.write(sub, OLDEST_UNACKED, NOW - timedelta(minutes=minutes), oldest)
    before = len(monitoring.requests)
    backlog = read_backlog(client(monitoring), sub, NOW)
    assert backlog == Backlog(sub, 12, 185, NOW - timedelta(minutes=1))
    asked = monitoring.requests[before:]
    assert [r.name for r in asked] == ["projects/demo", "projects/demo"]
    assert [r.filter for r in asked] == [
        f'metric.type = "{metric}" AND resource.type = "pubsub_subscription" '
        'AND resource.labels.subscription_id = "backlog-newest"'
        for metric in (UNDELIVERED, OLDEST_UNACKED)
    ]
    assert {(r.interval.start_time, r.interval.end_time) for r in asked} == {
        (NOW - timedelta(minutes=10), NOW)
    }


def test_no_data_permission_denied_no_answer_and_no_server_are_one_line(
    monitoring: FakeMonitoring,
) -> None:
    sub = f"{PROJECT}/subscriptions/backlog-problems"
    none = read_backlog(client(monitoring), sub, NOW)
    assert none == Backlog(
        sub,
        problem="no backlog data in Cloud Monitoring for the last 10 min (a new or idle "
        "subscription, or metrics not yet written)",
    )
    monitoring.deny = True
    try:
        denied = read_backlog(client(monitoring), sub, NOW)
    finally:
        monitoring.deny = False
    assert denied == Backlog(
        sub,
        problem="permission denied reading Cloud Monitoring (Permission "
        "monitoring.timeSeries.list denied (or the resource may not exist) for "
        "projects/demo.); grant the runtime account roles/monitoring.viewer on the project",
    )
    monitoring.delay = 1.0
    try:
        slow = read_backlog(client(monitoring, timeout=0.2), sub, NOW)
    finally:
        monitoring.delay = 0.0
    assert slow == Backlog(
        sub, problem=f"Cloud Monitoring at {monitoring.endpoint} did not answer in time"
    )
    gone = MonitoringClient("127.0.0.1:1", insecure=True, timeout=1.0)
    unreachable = read_backlog(gone, sub, NOW)
    assert unreachable.messages is None and unreachable.problem.startswith(
        "Cloud Monitoring at 127.0.0.1:1: ServiceUnavailable: "
    )
    assert "\n" not in unreachable.problem


def test_the_stream_samples_at_most_once_per_interval(monitoring: FakeMonitoring) -> None:
    sub = f"{PROJECT}/subscriptions/backlog-sampled"
    monitoring.write(sub, UNDELIVERED, datetime.now(UTC) - timedelta(minutes=2), 7)
    monitoring.write(sub, OLDEST_UNACKED, datetime.now(UTC) - timedelta(minutes=2), 30)
    clock = [100.0]
    sampler = BacklogSampler(client(monitoring), sub, 60, clock=lambda: clock[0])
    started = time.perf_counter()
    first = sampler.sample()
    took = time.perf_counter() - started
    assert first is not None and (first.messages, first.oldest_seconds) == (7, 30)
    assert took < 1.0  # two calls on loopback; against the service about 0.1-0.3 s
    for step in (1, 20, 59):  # batches within the interval reuse the sample: no call
        clock[0] = 100.0 + step
        assert sampler.sample() is first
    assert sampler.client.calls == 2
    monitoring.deny = True  # a failed read is not repeated before the interval ends either
    try:
        clock[0] = 160.0
        failed = sampler.sample()
        clock[0] = 200.0
        assert sampler.sample() is failed
    finally:
        monitoring.deny = False
    assert failed is not None and failed.problem.startswith("permission denied")
    assert sampler.client.calls == 3  # the first refused call ends the read
    off = BacklogSampler(client(monitoring), sub, 0)
    assert off.sample() is None and off.client.calls == 0


def test_status_shows_backlog_and_dead_letter_topic_with_its_count(
    pubsub: FakePubSub, monitoring: FakeMonitoring, tmp_path: Path
) -> None:
    topic, sub = new_subscription(pubsub, max_delivery_attempts=4)
    monitoring.write(sub, UNDELIVERED, NOW - timedelta(minutes=3), 1250)
    monitoring.write(sub, OLDEST_UNACKED, NOW - timedelta(minutes=3), 540)
    for hours, count in ((25, 100), (5, 2), (1, 1), (0, 0)):  # 25 h ago: outside the window
        monitoring.write(sub, DEAD_LETTERED, NOW - timedelta(hours=hours, minutes=1), count)
    config = make_config(tmp_path).with_overrides(
        source={
            "type": "pubsub",
            "pubsub_subscription": sub,
            "pubsub_endpoint": pubsub.endpoint,
            "pubsub_monitoring_endpoint": monitoring.endpoint,
            "pubsub_insecure": True,
        }
    )
    assert render_source_status(config, NOW) == (
        f"pubsub {sub} (events): backlog 1250 unacked messages, oldest unacked 9.0 min "
        "(Cloud Monitoring, 2026-12-03 05:57 UTC)\n"
        f"  dead-letter topic {topic}-dead after 4 attempts: 3 messages dead-lettered in the "
        "last 24 h"
    )
    assert render_source_status(LakehouseConfig(), NOW) is None  # landing: nothing to add
    unset = config.with_overrides(source={"pubsub_subscription": ""})
    assert render_source_status(unset, NOW) == (
        "pubsub (events): source.pubsub_subscription: required when source.type = 'pubsub'; "
        "give projects/PROJECT/subscriptions/NAME"
    )


def test_status_without_dead_letter_policy_unknown_subscription_or_monitoring(
    pubsub: FakePubSub, monitoring: FakeMonitoring
) -> None:
    topic = f"{PROJECT}/topics/no-policy"
    pubsub.create_topic(topic)
    plain = f"{PROJECT}/subscriptions/no-policy"
    pubsub.create_subscription(plain, topic)
    lines = render_subscription(
        subscription_health(source(pubsub, monitoring, plain), "events", NOW)
    )
    assert lines == [
        f"pubsub {plain} (events): backlog unknown: no backlog data in Cloud Monitoring for "
        "the last 10 min (a new or idle subscription, or metrics not yet written)",
        "  dead-letter topic: none (a message the source refuses is delivered again and "
        "again; give the subscription a dead-letter policy)",
    ]
    missing = f"{PROJECT}/subscriptions/missing"
    lines = render_subscription(
        subscription_health(source(pubsub, monitoring, missing), "orders", NOW)
    )
    assert lines[1] == (
        f"  dead-letter topic unknown: Pub/Sub subscription {missing!r} not found at "
        f"{pubsub.endpoint}; create it or fix source.pubsub_subscription"
    )
    _, with_policy = new_subscription(pubsub)
    monitoring.deny = True
    try:
        lines = render_subscription(
            subscription_health(source(pubsub, monitoring, with_policy), "events", NOW)
        )
    finally:
        monitoring.deny = False
    assert lines[0].startswith(
        f"pubsub {with_policy} (events): backlog unknown: permission denied reading Cloud "
        "Monitoring ("
    )
    assert lines[1].startswith(f"  dead-letter topic {PROJECT}/topics/events-") and lines[
        1
    ].endswith(
        "after 5 attempts: dead-lettered count unknown: permission denied "
        "reading Cloud Monitoring (Permission monitoring.timeSeries.list "
        "denied (or the resource may not exist) for projects/demo.); grant "
        "the runtime account roles/monitoring.viewer on the project"
    )
    no_monitoring = SourceConfig(
        type="pubsub",
        pubsub_subscription=plain,
        pubsub_endpoint=pubsub.endpoint,
        pubsub_insecure=True,
    )
    lines = render_subscription(subscription_health(no_monitoring, "events", NOW))
    assert lines[0] == (
        f"pubsub {plain} (events): backlog unknown: not read: source.pubsub_insecure without "
        "source.pubsub_monitoring_endpoint (a local Pub/Sub fake has no Cloud Monitoring)"
    )
    assert PubSubSource(no_monitoring).backlog.sample() is None  # the stream samples nothing


def test_monitoring_settings_are_checked() -> None:
    secure = SourceConfig(type="pubsub", pubsub_subscription=f"{PROJECT}/subscriptions/s")
    assert monitoring_endpoint(secure) == "monitoring.googleapis.com:443"
    remote = SourceConfig(
        type="pubsub",
        pubsub_subscription=f"{PROJECT}/subscriptions/s",
        pubsub_insecure=True,
        pubsub_endpoint="127.0.0.1:8085",
        pubsub_monitoring_endpoint="monitoring.example.com:443",
    )
    with pytest.raises(ConfigError, match=r"pubsub_monitoring_endpoint: 'monitoring\.example"):
        monitoring_endpoint(remote)
    with pytest.raises(ConfigError, match=r"pubsub_backlog_interval_seconds: -1 must be 0"):
        SourceConfig(pubsub_backlog_interval_seconds=-1)
