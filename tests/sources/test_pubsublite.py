"""Pub/Sub Lite: the envelope transform, the settings, and the Python data source end to end
against the in-process fake of the gRPC services (several partitions, exact offsets)."""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.config import LakehouseConfig, SourceConfig
from lakehouse.demo import run_layers
from lakehouse.errors import ConfigError, SourceError
from lakehouse.publish import publish_pubsublite
from lakehouse.sources.pubsublite.client import (
    PubSubLiteClient,
    default_endpoint,
    partition_for_key,
)
from lakehouse.sources.pubsublite.source import PubSubLiteSource, pubsublite_to_envelope
from lakehouse.sources.registry import source_for
from tests.conftest import make_config, register_lake
from tests.product_generator import GeneratorSpec, generate_events
from tests.sources.fake_pubsublite import FakePubSubLite

PROJECT = "projects/demo/locations/europe-west1-b"
_names = itertools.count()
_3S = timedelta(seconds=3)


def pubsublite_config(
    root: Path, fake: FakePubSubLite, subscription: str, max_per_partition: int = 0
) -> LakehouseConfig:
    return make_config(root, gates=False).with_overrides(
        source={
            "type": "pubsublite",
            "pubsublite_subscription": subscription,
            "pubsublite_endpoint": fake.endpoint,
            "pubsublite_insecure": True,
            "pubsublite_max_messages_per_partition": max_per_partition,
            "pubsublite_flow_control_messages": 7,
        }
    )


def new_topic(fake: FakePubSubLite, partitions: int) -> tuple[str, str]:
    n = next(_names)
    topic, subscription = f"{PROJECT}/topics/events-{n}", f"{PROJECT}/subscriptions/bronze-{n}"
    fake.create_topic(topic, partitions)
    fake.create_subscription(subscription, topic)
    return topic, subscription


# --- pure parts ------------------------------------------------------------------------


def test_envelope_keeps_coordinates_bytes_and_times(spark: SparkSession) -> None:
    t = datetime(2026, 11, 23, 8, 0)
    sub = f"{PROJECT}/subscriptions/bronze"
    messages = spark.createDataFrame(
        [
            (sub, 2, 41, b"usr_1", b'{"a":1}', t, t - timedelta(seconds=3), {"k": [b"v"]}),
            (sub, 0, 0, b"", None, t, None, {"m": [b"x", b"y"]}),
        ],
        "subscription string, partition long, offset long, key binary, data binary, "
        "publish_timestamp timestamp, event_timestamp timestamp, "
        "attributes map<string, array<binary>>",
    )
    expected = spark.createDataFrame(
        [
            (
                "pubsublite",
                "bronze/2",
                41,
                b"usr_1",
                b'{"a":1}',
                {"k": "v"},
                t,
                t - timedelta(seconds=3),
            ),
            ("pubsublite", "bronze/0", 0, b"", None, {"m": "x,y"}, t, None),
        ],
        "source string, partition string, offset long, key binary, payload binary, "
        "attributes map<string,string>, publish_ts timestamp, source_event_ts timestamp",
    )
    assert_df_equality(pubsublite_to_envelope(messages), expected, ignore_nullable=True)


def test_regional_endpoint_and_key_routing() -> None:
    assert default_endpoint(f"{PROJECT}/subscriptions/s") == (
        "europe-west1-pubsublite.googleapis.com:443"
    )
    assert default_endpoint("projects/p/locations/us-east4/topics/t") == (
        "us-east4-pubsublite.googleapis.com:443"
    )
    # SHA-256 of the key, big-endian, modulo the partitions: stable across processes
    assert [partition_for_key(k, 3) for k in (b"a", b"b", b"usr_1")] == [
        int.from_bytes(hashlib.sha256(k).digest(), "big") % 3 for k in (b"a", b"b", b"usr_1")
    ]
    assert partition_for_key(b"usr_1", 1) == 0


def test_missing_or_malformed_subscription_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="pubsublite_subscription: required when"):
        source_for(SourceConfig(type="pubsublite"))
    with pytest.raises(ConfigError, match=r"'projects/p/subscriptions/s' is not a subscription"):
        SourceConfig(type="pubsublite", pubsublite_subscription="projects/p/subscriptions/s")


def test_insecure_channel_only_to_this_machine() -> None:
    with pytest.raises(ConfigError, match="pubsublite_insecure: true sends no credentials"):
        source_for(
            SourceConfig(
                type="pubsublite",
                pubsublite_subscription=f"{PROJECT}/subscriptions/s",
                pubsublite_insecure=True,
            )
        )


def test_missing_credentials_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json")
    with pytest.raises(SourceError, match="no usable Application Default Credentials"):
        PubSubLiteClient("europe-west1-pubsublite.googleapis.com:443")


def test_unknown_subscription_is_a_clear_error(
    spark: SparkSession, pubsublite: FakePubSubLite, tmp_path: Path
) -> None:
    config = pubsublite_config(tmp_path, pubsublite, f"{PROJECT}/subscriptions/nobody")
    with pytest.raises(SourceError, match=r"subscription '.*/subscriptions/nobody' not found"):
        PubSubLiteSource(config.source).read_stream(spark)


def test_unknown_source_type_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="'kinesis' is not valid; choose one of landing, kafka"):
        SourceConfig(type="kinesis")


# --- end to end against the fake --------------------------------------------------------


def _bronze_offsets(spark: SparkSession) -> dict[str, list[int]]:
    rows = spark.table("bronze.events").select("partition", "offset").collect()
    found: dict[str, list[int]] = {}
    for row in rows:
        found.setdefault(row["partition"], []).append(row["offset"])
    return {p: sorted(o) for p, o in found.items()}


@pytest.mark.slow
def test_every_message_lands_in_bronze_once_with_exact_offsets_across_restarts(
    spark: SparkSession, pubsublite: FakePubSubLite, tmp_path: Path
) -> None:
    topic, subscription = new_topic(pubsublite, partitions=3)
    name = subscription.rsplit("/", 1)[-1]
    start = datetime.now(UTC) - timedelta(hours=1)
    events = generate_events(GeneratorSpec(count=60, bad_share=0.2, seed=3, start=start))
    capped = pubsublite_config(tmp_path, pubsublite, subscription, max_per_partition=8)
    register_lake(spark, capped)
    published = publish_pubsublite(capped.source, events)
    assert sum(len(o) for o in published.values()) == 60
    assert all(len(o) > 8 for o in published.values())  # every partition needs 2+ batches

    def cursors() -> dict[int, int]:
        return {p: o for (s, p), o in pubsublite.cursors.items() if s == subscription}

    run_layers(spark, capped, ("bronze",))  # one capped batch, then stop (AvailableNow)
    assert _bronze_offsets(spark) == {f"{name}/{p}": list(range(8)) for p in range(3)}
    # Spark 4.1 commits a batch to the source when it plans the next one
    assert cursors() == {}

    run_layers(spark, capped, ("bronze",))  # restart: the next 8 per partition, no overlap
    assert _bronze_offsets(spark) == {
        f"{name}/{p}": list(range(min(16, len(o)))) for p, o in published.items()
    }
    assert cursors() == {0: 8, 1: 8, 2: 8}  # the end of the batch Spark committed before

    drain = pubsublite_config(tmp_path, pubsublite, subscription)  # same checkpoint, no cap
    run_layers(spark, drain, ("bronze",))
    run_layers(spark, drain, ("bronze",))  # nothing new: nothing written twice
    bronze = spark.table("bronze.events")
    assert bronze.count() == 60
    assert _bronze_offsets(spark) == {f"{name}/{p}": o for p, o in published.items()}
    assert Counter(bytes(r["payload"]) for r in bronze.select("payload").collect()) == Counter(
        e.line for e in events
    )
    # cursors are committed only after Spark committed: they trail bronze by one batch
    # (the second capped batch ended at 16, or earlier in a partition holding fewer)
    assert cursors() == {p: min(16, len(o)) for p, o in published.items()}
    assert sum(len(o) for o in pubsublite.offsets(topic).values()) == 60
    # every stream seeked exactly where its range starts
    seeks = sorted(
        (c.partition, c.seek_offset)
        for c in pubsublite.subscribe_calls
        if c.subscription == subscription
    )
    # (a partition read to its end in the second capped batch has no third range)
    assert seeks == sorted(
        (p, start) for p, o in published.items() for start in (0, 8, 16) if start < len(o)
    )
    assert all(fc[0] <= 7 for c in pubsublite.subscribe_calls for fc in c.flow_control)
    keyed = bronze.where(F.col("key").isNotNull() & (F.length("key") > 0))
    assert keyed.where(F.col("source_event_ts").isNull()).count() == 0
    assert bronze.where(F.col("attributes")["producer"] != "lakehouse-publish").count() == 0
