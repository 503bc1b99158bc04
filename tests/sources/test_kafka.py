"""Kafka: the envelope transform, the Managed Kafka settings, lag, and Spark's Kafka source
end to end against a real broker (KRaft, on 127.0.0.1)."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from lakehouse.config import LakehouseConfig, SourceConfig, SparkConfig, TriggerConfig
from lakehouse.demo import run_layers
from lakehouse.errors import ConfigError
from lakehouse.io.jobs import start_job
from lakehouse.publish import publish_kafka
from lakehouse.session import spark_conf
from lakehouse.sources.kafka import (
    MANAGED_KAFKA_AUTH_PACKAGE,
    KafkaSource,
    kafka_options,
    kafka_to_envelope,
    managed_kafka_bootstrap,
)
from lakehouse.sources.registry import source_for
from tests.conftest import make_config, register_lake
from tests.product_generator import GeneratorSpec, generate_events
from tests.sources.kafka_broker import KafkaBroker

_topics = itertools.count()
CLUSTER = "projects/acme/locations/europe-west1/clusters/events"


def kafka_config(
    root: Path, broker: KafkaBroker, topic: str, max_offsets: int = 0
) -> LakehouseConfig:
    return make_config(root, gates=False).with_overrides(
        source={
            "type": "kafka",
            "kafka_bootstrap_servers": broker.bootstrap,
            "kafka_topics": topic,
            "kafka_max_offsets_per_trigger": max_offsets,
        }
    )


# --- pure parts ------------------------------------------------------------------------


def test_envelope_keeps_coordinates_headers_and_null_values(spark: SparkSession) -> None:
    t = datetime(2026, 11, 23, 8, 0)
    records = spark.createDataFrame(
        [
            (b"usr_1", b"{}", "events", 2, 7, t, 0, [("event_ts", b"2026-11-23T07:59:00Z")]),
            (None, None, "events", 0, 0, t, 0, None),  # a tombstone is kept too
        ],
        "key binary, value binary, topic string, partition int, offset long, timestamp "
        "timestamp, timestampType int, headers array<struct<key:string,value:binary>>",
    )
    expected = spark.createDataFrame(
        [
            (
                "kafka",
                "events/2",
                7,
                b"usr_1",
                b"{}",
                {"event_ts": "2026-11-23T07:59:00Z"},
                t,
                datetime(2026, 11, 23, 7, 59),
            ),
            ("kafka", "events/0", 0, None, None, {}, t, None),
        ],
        "source string, partition string, offset long, key binary, payload binary, "
        "attributes map<string,string>, publish_ts timestamp, source_event_ts timestamp",
    )
    assert_df_equality(kafka_to_envelope(records), expected, ignore_nullable=True)


def test_lag_is_the_most_offsets_behind_latest() -> None:
    source = KafkaSource(SourceConfig(type="kafka", kafka_bootstrap_servers="k:9092"))
    progress = {
        "sources": [
            {
                "description": "KafkaV2[Subscribe[events]]",
                "metrics": {
                    "avgOffsetsBehindLatest": "4.5",
                    "maxOffsetsBehindLatest": "9",
                    "minOffsetsBehindLatest": "0",
                },
            }
        ]
    }
    assert source.lag(progress) == 9
    assert source.lag({"sources": [{"description": "KafkaV2[x]", "metrics": {}}]}) is None


def test_managed_kafka_settings() -> None:
    assert managed_kafka_bootstrap(CLUSTER) == (
        "bootstrap.events.europe-west1.managedkafka.acme.cloud.goog:9092"
    )
    config = SourceConfig(type="kafka", kafka_cluster=CLUSTER, kafka_auth="managed-kafka")
    assert kafka_options(config) == {
        "kafka.bootstrap.servers": managed_kafka_bootstrap(CLUSTER),
        "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "OAUTHBEARER",
        "kafka.sasl.login.callback.handler.class": (
            "com.google.cloud.hosted.kafka.auth.GcpLoginCallbackHandler"
        ),
        "kafka.sasl.jaas.config": (
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"
        ),
    }
    source = source_for(config)
    conf = spark_conf(SparkConfig(), source.extra_packages(), source.spark_conf())
    packages = conf["spark.jars.packages"].split(",")
    assert packages[1:] == [
        "org.apache.spark:spark-sql-kafka-0-10_2.13:4.1.1",
        MANAGED_KAFKA_AUTH_PACKAGE,
    ]
    assert conf["spark.jars.excludes"] == "io.confluent:kafka-schema-registry-client"
    dataproc = spark_conf(SparkConfig(mode="dataproc"), source.extra_packages())
    assert "spark.jars.packages" not in dataproc


def test_bad_kafka_settings_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match=r"'127\.0\.0\.1:9092' is a plaintext or local address"):
        SourceConfig(kafka_bootstrap_servers="127.0.0.1:9092", kafka_auth="managed-kafka")
    with pytest.raises(ConfigError, match="kafka_auth: 'sasl' is not valid; choose one of none"):
        SourceConfig(kafka_auth="sasl")
    with pytest.raises(ConfigError, match="kafka_bootstrap_servers: required when"):
        source_for(SourceConfig(type="kafka"))
    with pytest.raises(ConfigError, match="kafka_cluster: 'events' is not a Managed Kafka"):
        SourceConfig(kafka_cluster="events")


# --- end to end against a broker --------------------------------------------------------


def _await_batches(query: object, batches: int, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = getattr(query, "recentProgress", [])
        if sum(1 for p in progress if p["numInputRows"] > 0) >= batches:
            return
        time.sleep(0.5)
    raise AssertionError(f"{batches} batches did not complete in {timeout}s")


def _stop_between_batches(query: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while query.status["isTriggerActive"] and time.monotonic() < deadline:
        time.sleep(0.05)
    query.stop()


@pytest.mark.slow
def test_every_record_lands_in_bronze_once_across_a_restart(
    spark: SparkSession, kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    topic = f"events-{next(_topics)}"
    config = kafka_config(tmp_path, kafka_broker, topic, max_offsets=12)
    register_lake(spark, config)
    start = datetime.now(UTC) - timedelta(hours=1)
    events = generate_events(GeneratorSpec(count=60, bad_share=0.2, seed=5, start=start))
    assert publish_kafka(spark, config.source, events[:40], topic) == 40

    # A processing-time trigger runs its first batch at once and the next one at the next
    # multiple of the interval: with an interval of 10,000 hours the stream stops, between two
    # batches, after exactly one batch of at most 12 (Spark splits the 12 over the partitions),
    # however slow the machine. Spark 4.1.1's Kafka source fails a restart whose first batch
    # re-runs one planned but not committed (SPARK-57438, a null in
    # KafkaMicroBatchStream.metrics): see the README's known issues.
    once = TriggerConfig(mode="processing-time", interval="10000 hours")
    query = start_job(spark, config, "bronze", once)
    _await_batches(query, 1)
    _stop_between_batches(query)
    assert 0 < spark.table("bronze.events").count() <= 12
    source = source_for(config.source)
    assert query.lastProgress is not None
    behind = source.lag(query.lastProgress)
    assert behind is not None and behind > 0

    assert publish_kafka(spark, config.source, events[40:], topic) == 20
    run_layers(spark, config, ("bronze",))  # restart from the checkpoint and drain
    run_layers(spark, config, ("bronze",))  # nothing new: nothing written twice
    bronze = spark.table("bronze.events")
    assert bronze.count() == 60
    assert bronze.select("partition", "offset").distinct().count() == 60
    assert Counter(bytes(r["payload"]) for r in bronze.select("payload").collect()) == Counter(
        e.line for e in events
    )
    # offsets per partition are dense from 0: none skipped, none read twice
    for row in bronze.groupBy("partition").agg({"offset": "max", "*": "count"}).collect():
        assert row["max(offset)"] == row["count(1)"] - 1
    log = spark.table("ops.batch_log").where("job = 'bronze-kafka'")
    assert log.agg({"rows_in": "sum"}).first()[0] == 60  # type: ignore[index]
