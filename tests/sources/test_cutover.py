"""Cutover from Pub/Sub Lite to Kafka, and to Pub/Sub, with dual publishing: bronze keeps
both deliveries, silver has every event once, the second copies are quarantined as
duplicates."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.demo import run_layers
from lakehouse.publish import publish_kafka, publish_pubsub, publish_pubsublite
from tests.conftest import register_lake
from tests.product_generator import GeneratorSpec, generate_events
from tests.sources.fake_pubsub import FakePubSub
from tests.sources.fake_pubsublite import FakePubSubLite
from tests.sources.kafka_broker import KafkaBroker
from tests.sources.test_kafka import kafka_config
from tests.sources.test_pubsub import new_subscription, pubsub_config
from tests.sources.test_pubsublite import new_topic, pubsublite_config

pytestmark = pytest.mark.slow


def test_cutover_without_loss_or_duplicates_in_silver(
    spark: SparkSession, kafka_broker: KafkaBroker, pubsublite: FakePubSubLite, tmp_path: Path
) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    events = generate_events(GeneratorSpec(count=40, bad_share=0.0, seed=9, start=start))
    _, subscription = new_topic(pubsublite, partitions=2)
    before = pubsublite_config(tmp_path, pubsublite, subscription)
    after = kafka_config(tmp_path, kafka_broker, "cutover")
    register_lake(spark, before)

    publish_pubsublite(before.source, events[:30])  # the old pipeline
    run_layers(spark, before, ("bronze",))
    publish_kafka(spark, after.source, events[20:], "cutover")  # dual publishing of 20..29
    run_layers(spark, after, ("bronze",))  # switch the source: its own checkpoint
    run_layers(spark, after, ("silver",))

    bronze = spark.table("bronze.events")
    assert Counter(r["source"] for r in bronze.select("source").collect()) == {
        "pubsublite": 30,
        "kafka": 20,
    }
    silver_ids = [r["event_id"] for r in spark.table("silver.events").select("event_id").collect()]
    assert sorted(silver_ids) == sorted(str(e.event_id) for e in events)  # each once
    quarantine = spark.table("quarantine.silver_events").select("payload", "reason").collect()
    assert Counter((bytes(r["payload"]), r["reason"]) for r in quarantine) == Counter(
        (e.line, "duplicate_event_id") for e in events[20:30]
    )


def test_cutover_from_pubsublite_to_pubsub_without_loss_or_duplicates_in_silver(
    spark: SparkSession, pubsublite: FakePubSubLite, pubsub: FakePubSub, tmp_path: Path
) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    events = generate_events(GeneratorSpec(count=40, bad_share=0.0, seed=11, start=start))
    _, lite_subscription = new_topic(pubsublite, partitions=2)
    _, subscription = new_subscription(pubsub, exactly_once=True, ordering=True)
    before = pubsublite_config(tmp_path, pubsublite, lite_subscription)
    after = pubsub_config(tmp_path, pubsub, subscription)
    register_lake(spark, before)

    publish_pubsublite(before.source, events[:30])  # the old pipeline
    run_layers(spark, before, ("bronze",))  # drained
    publish_pubsub(after.source, events[20:])  # dual publishing of 20..29
    run_layers(spark, after, ("bronze", "silver"))  # switch: the bronze-pubsub checkpoint

    bronze = spark.table("bronze.events")
    assert Counter(r["source"] for r in bronze.select("source").collect()) == {
        "pubsublite": 30,
        "pubsub": 20,
    }
    silver_ids = [r["event_id"] for r in spark.table("silver.events").select("event_id").collect()]
    assert sorted(silver_ids) == sorted(str(e.event_id) for e in events)  # each once
    quarantine = spark.table("quarantine.silver_events").select("payload", "reason").collect()
    assert Counter((bytes(r["payload"]), r["reason"]) for r in quarantine) == Counter(
        (e.line, "duplicate_event_id") for e in events[20:30]
    )
    assert pubsub.outstanding(subscription) == []  # every delivery acknowledged
