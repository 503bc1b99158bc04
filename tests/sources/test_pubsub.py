"""Pub/Sub: the envelope transform, the settings, the client's acknowledgements (exactly-once
results), the stream reader's offsets and leases against the in-process fake of the gRPC
services (redelivery, nack, expired deadline, dead-lettering), and the source end to end."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from lakehouse.config import LakehouseConfig, SourceConfig
from lakehouse.demo import run_layers
from lakehouse.errors import ConfigError, SourceError
from lakehouse.publish import publish_pubsub
from lakehouse.sources.pubsub.client import PubSubClient
from lakehouse.sources.pubsub.datasource import MessageBatch, PubSubStreamReader
from lakehouse.sources.pubsub.source import PubSubSource, pubsub_options, pubsub_to_envelope
from lakehouse.sources.registry import source_for
from tests.conftest import make_config, register_lake
from tests.product_generator import GeneratorSpec, generate_events
from tests.sources.fake_pubsub import INVALID_ACK_ID, FakePubSub

PROJECT = "projects/demo"
_names = itertools.count()


def new_subscription(fake: FakePubSub, **settings: object) -> tuple[str, str]:
    """A new topic and subscription, with a dead-letter topic and its own subscription."""
    n = next(_names)
    topic, subscription = f"{PROJECT}/topics/events-{n}", f"{PROJECT}/subscriptions/bronze-{n}"
    fake.create_topic(topic)
    fake.create_topic(f"{topic}-dead")
    fake.create_subscription(f"{subscription}-dead", f"{topic}-dead")
    fake.create_subscription(
        subscription,
        topic,
        dead_letter_topic=f"{topic}-dead",
        **settings,  # type: ignore[arg-type]
    )
    return topic, subscription


def pubsub_config(
    root: Path, fake: FakePubSub, subscription: str, max_per_batch: int = 10_000
) -> LakehouseConfig:
    return make_config(root, gates=False, monitoring=False).with_overrides(
        source={
            "type": "pubsub",
            "pubsub_subscription": subscription,
            "pubsub_endpoint": fake.endpoint,
            "pubsub_insecure": True,
            "pubsub_max_messages_per_batch": max_per_batch,
            "pubsub_pull_timeout_seconds": 2,
            "pubsub_max_message_bytes": 1024,
        }
    )


def reader(fake: FakePubSub, subscription: str, **options: str) -> PubSubStreamReader:
    source = SourceConfig(
        type="pubsub",
        pubsub_subscription=subscription,
        pubsub_endpoint=fake.endpoint,
        pubsub_insecure=True,
        pubsub_max_message_bytes=1024,
    )
    return PubSubStreamReader({**pubsub_options(source), **options})


def publish(fake: FakePubSub, topic: str, *payloads: bytes, key: str = "") -> list[str]:
    from google.pubsub_v1 import types as v1

    client = PubSubClient(fake.endpoint, insecure=True)
    try:
        return client.publish(topic, [v1.PubsubMessage(data=p, ordering_key=key) for p in payloads])
    finally:
        client.close()


def rows_of(batches: list[MessageBatch]) -> list[tuple[object, ...]]:
    return [row for batch in batches for row in batch.rows]


# --- pure parts ------------------------------------------------------------------------


def test_envelope_numbers_each_delivery_and_keeps_message_id_and_attempt(
    spark: SparkSession,
) -> None:
    t = datetime(2026, 12, 2, 8, 0)
    sub = f"{PROJECT}/subscriptions/bronze"
    raw = spark.createDataFrame(
        [
            (sub, "17", 1000, "usr_1", b'{"a":1}', {"event_ts": "2026-12-02T07:59:00Z"}, t, 2, "x"),
            (sub, "18", 1001, "", b"", None, t, 0, "y"),
        ],
        "subscription string, message_id string, seq long, ordering_key string, data binary, "
        "attributes map<string,string>, publish_time timestamp, delivery_attempt int, "
        "ack_id string",
    )
    expected = spark.createDataFrame(
        [
            (
                "pubsub",
                "bronze",
                1000,
                b"usr_1",
                b'{"a":1}',
                {
                    "event_ts": "2026-12-02T07:59:00Z",
                    "goog_message_id": "17",
                    "goog_delivery_attempt": "2",
                },
                t,
                datetime(2026, 12, 2, 7, 59),
            ),
            ("pubsub", "bronze", 1001, None, b"", {"goog_message_id": "18"}, t, None),
        ],
        "source string, partition string, offset long, key binary, payload binary, "
        "attributes map<string,string>, publish_ts timestamp, source_event_ts timestamp",
    )
    assert_df_equality(pubsub_to_envelope(raw), expected, ignore_nullable=True)


def test_settings_are_checked_with_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="pubsub_subscription: required when"):
        source_for(SourceConfig(type="pubsub"))
    with pytest.raises(ConfigError, match=r"'projects/p/locations/l/subscriptions/s' is not a"):
        SourceConfig(pubsub_subscription="projects/p/locations/l/subscriptions/s")
    with pytest.raises(ConfigError, match="pubsub_ack_deadline_seconds: 5 is outside"):
        SourceConfig(pubsub_ack_deadline_seconds=5)
    with pytest.raises(ConfigError, match="pubsub_max_messages_per_batch: 0 must be at least 1"):
        SourceConfig(pubsub_max_messages_per_batch=0)
    with pytest.raises(ConfigError, match="pubsub_insecure: true sends no credentials"):
        source_for(
            SourceConfig(
                type="pubsub",
                pubsub_subscription=f"{PROJECT}/subscriptions/s",
                pubsub_insecure=True,
            )
        )


def test_missing_credentials_and_unknown_subscription_are_clear_errors(
    pubsub: FakePubSub, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = PubSubClient(pubsub.endpoint, insecure=True)
    with pytest.raises(SourceError, match=r"subscription '.*/subscriptions/nobody' not found"):
        client.subscription(f"{PROJECT}/subscriptions/nobody")
    client.close()
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json")
    with pytest.raises(SourceError, match="no usable Application Default Credentials"):
        PubSubClient()


# --- the client and the reader against the fake ----------------------------------------


def test_exactly_once_acks_report_expired_leases_and_retry_transient_failures(
    pubsub: FakePubSub,
) -> None:
    topic, sub = new_subscription(pubsub, exactly_once=True)
    publish(pubsub, topic, b"a", b"b", b"c")
    client = PubSubClient(pubsub.endpoint, insecure=True)
    first = client.pull(sub, 10, 2)
    assert [bytes(r.message.data) for r in first] == [b"a", b"b", b"c"]
    pubsub.expire_leases()  # every deadline passes: the three come again, new ack ids
    second = client.pull(sub, 10, 2)
    assert [r.delivery_attempt for r in second] == [2, 2, 2]
    pubsub.transient_failures = 1  # the first ack call fails TRANSIENT for every id
    result = client.acknowledge(sub, [first[0].ack_id, *(r.ack_id for r in second)])
    client.close()
    assert result.done == 3
    assert result.refused == ((first[0].ack_id, INVALID_ACK_ID),)
    assert pubsub.outstanding(sub) == []


def test_reader_numbers_deliveries_and_hands_them_to_one_batch(pubsub: FakePubSub) -> None:
    topic, sub = new_subscription(pubsub, ordering=True)
    ids = publish(pubsub, topic, b"1", b"2", b"3", b"4", b"5", key="usr_1")
    r = reader(pubsub, sub, maxMessagesPerBatch="3")
    start = r.initialOffset()
    end = r.latestOffset()
    assert end == {"seq": start["seq"] + 3}  # the cap: three of five
    rows = rows_of(list(r.partitions(start, end)))
    assert [(row[1], row[2], row[3], row[4]) for row in rows] == [
        (ids[n], start["seq"] + n, "usr_1", str(n + 1).encode()) for n in range(3)
    ]
    assert list(r.partitions(start, end)) == []  # never in two batches
    # the bronze job acknowledges; the key's later messages follow in the next batch
    PubSubClient(pubsub.endpoint, insecure=True).acknowledge(sub, [str(row[8]) for row in rows])
    r.commit(end)
    later = r.latestOffset()
    assert [row[4] for row in rows_of(list(r.partitions(end, later)))] == [b"4", b"5"]
    r.stop()  # planned, not acknowledged: no nack, the lease ends
    assert [m.message.message_id for m in pubsub.outstanding(sub)] == ids[3:]
    assert pubsub.nacked == [] or all(s != sub for s, _ in pubsub.nacked)


def test_a_batch_planned_again_after_a_restart_is_empty_and_its_messages_come_again(
    pubsub: FakePubSub,
) -> None:
    topic, sub = new_subscription(pubsub)
    ids = publish(pubsub, topic, b"x", b"y")
    crashed = reader(pubsub, sub)
    start = crashed.initialOffset()
    end = crashed.latestOffset()
    assert len(rows_of(list(crashed.partitions(start, end)))) == 2
    crashed._stopped.set()  # the process dies: no stop(), no ack, no nack
    restarted = reader(pubsub, sub)
    assert list(restarted.partitions(start, end)) == []  # Spark replays the logged batch
    idle = restarted.latestOffset()  # the leases still hold: nothing to pull
    assert idle["seq"] >= end["seq"]
    assert list(restarted.partitions(end, idle)) == []
    pubsub.expire_leases()  # the deadline passes
    again = restarted.latestOffset()
    rows = rows_of(list(restarted.partitions(idle, again)))
    assert [(row[1], row[7]) for row in rows] == [(ids[0], 2), (ids[1], 2)]  # 2nd attempt
    assert min(int(str(row[2])) for row in rows) >= end["seq"]  # new coordinates
    restarted.stop()


def test_nacked_on_stop_and_oversized_messages_go_to_the_dead_letter_topic(
    pubsub: FakePubSub,
) -> None:
    topic, sub = new_subscription(pubsub, max_delivery_attempts=3)
    good, poison = publish(pubsub, topic, b"ok", b"p" * 2000)
    r = reader(pubsub, sub)
    r.latestOffset()  # pulls both, holds "ok", nacks the poison
    r.stop()  # "ok" was never planned into a batch: nacked, delivered again at once
    # (a nack counts as a delivery attempt, as on Pub/Sub)
    assert (sub, good) in pubsub.nacked and (sub, poison) in pubsub.nacked
    r = reader(pubsub, sub)
    start = r.initialOffset()
    end = r.latestOffset()  # "ok" again (attempt 2), planned and acknowledged; poison nacked
    rows = rows_of(list(r.partitions(start, end)))
    assert [(row[4], row[7]) for row in rows] == [(b"ok", 2)]
    PubSubClient(pubsub.endpoint, insecure=True).acknowledge(sub, [str(rows[0][8])])
    r.stop()
    for _ in range(2):  # the poison's third attempt, then the dead-letter topic
        r = reader(pubsub, sub)
        r.latestOffset()
        r.stop()
    dead = pubsub.messages(f"{sub}-dead")
    assert [(bytes(m.message.data)[:1], len(m.message.data)) for m in dead] == [(b"p", 2000)]
    assert [m.done for m in pubsub.messages(sub) if m.message.message_id == poison] == [
        "dead-lettered"
    ]


# --- end to end against the fake --------------------------------------------------------


@pytest.mark.slow
def test_every_message_lands_in_bronze_and_once_in_silver_and_is_acknowledged(
    spark: SparkSession, pubsub: FakePubSub, tmp_path: Path
) -> None:
    _, subscription = new_subscription(pubsub, exactly_once=True, ordering=True)
    start = datetime.now(UTC) - timedelta(hours=1)
    events = generate_events(GeneratorSpec(count=50, bad_share=0.0, seed=5, start=start))
    capped = pubsub_config(tmp_path, pubsub, subscription, max_per_batch=30)
    register_lake(spark, capped)
    ids = publish_pubsub(capped.source, events)
    assert len(ids) == 50

    run_layers(spark, capped, ("bronze",))  # one batch of 30 (--available-now asks once)
    assert spark.table("bronze.events").count() == 30
    assert len(pubsub.outstanding(subscription)) == 20  # the 30 are acknowledged
    run_layers(spark, capped, ("bronze", "silver"))  # the other 20, then silver

    bronze = spark.table("bronze.events")
    assert Counter(bytes(r["payload"]) for r in bronze.select("payload").collect()) == Counter(
        e.line for e in events
    )
    assert sorted(r["attributes"]["goog_message_id"] for r in bronze.collect()) == sorted(ids)
    assert pubsub.outstanding(subscription) == []
    silver = [r["event_id"] for r in spark.table("silver.events").select("event_id").collect()]
    assert sorted(silver) == sorted(str(e.event_id) for e in events)
    assert spark.table("quarantine.silver_events").count() == 0
    log = spark.table("ops.batch_log").where("job = 'bronze-pubsub'").collect()
    assert sorted(r["rows_in"] for r in log if r["rows_in"]) == [20, 30]
    source = PubSubSource(capped.source)
    assert source.options["subscription"] == subscription
