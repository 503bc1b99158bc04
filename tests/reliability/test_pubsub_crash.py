"""Pub/Sub: the bronze driver is killed with SIGKILL (a real subprocess, no cleanup) after
its batch is in bronze and logged, before the bronze job acknowledged the messages. Nothing
is lost (the messages come again and bronze keeps the second delivery) and silver, which
promoted the first delivery meanwhile, promotes nothing twice: every repeat is quarantined
as ``duplicate_event_id``."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.config import load_config
from lakehouse.demo import run_layers
from lakehouse.publish import publish_pubsub
from tests.conftest import register_lake
from tests.product_generator import GeneratorSpec, generate_events
from tests.reliability.helpers import account, run_cli, write_config
from tests.sources.fake_pubsub import FakePubSub

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

TOPIC = "projects/demo/topics/events"
SUBSCRIPTION = "projects/demo/subscriptions/bronze"


def test_sigkill_between_bronze_commit_and_ack_loses_nothing_and_promotes_nothing_twice(
    spark: SparkSession, tmp_path: Path
) -> None:
    fake = FakePubSub()
    fake.start()
    try:
        fake.create_topic(TOPIC)
        fake.create_topic(f"{TOPIC}-dead")
        fake.create_subscription(
            SUBSCRIPTION, TOPIC, exactly_once=True, dead_letter_topic=f"{TOPIC}-dead"
        )
        file = write_config(tmp_path, gates=False, monitoring=False)
        text = file.read_text().replace(
            'type = "landing"',
            f'type = "pubsub"\npubsub_subscription = "{SUBSCRIPTION}"\n'
            f'pubsub_endpoint = "{fake.endpoint}"\npubsub_insecure = true\n'
            "pubsub_pull_timeout_seconds = 2",
        )
        file.write_text(text)
        config = load_config(file)
        register_lake(spark, config)
        start = datetime.now(UTC) - timedelta(hours=1)
        events = generate_events(GeneratorSpec(count=50, bad_share=0.0, seed=13, start=start))
        first, later = events[:40], events[40:]
        publish_pubsub(config.source, first)

        point = "bronze-pubsub:after_log"
        done = run_cli(
            ["--config", str(file), "run", "bronze", "--available-now"],
            env={"LAKEHOUSE_CRASH_AT": point},
        )
        assert done.killed, done.stderr[-3000:]
        assert f"crash injected at {point}" in done.stderr
        assert spark.table("bronze.events").count() == 40  # the batch is in bronze ...
        assert len(fake.outstanding(SUBSCRIPTION)) == 40  # ... and was never acknowledged

        run_layers(spark, config, ("silver",))  # silver promotes the first deliveries
        fake.expire_leases()  # the dead driver's leases run out
        publish_pubsub(config.source, later)
        # the restart: Spark replays the logged batch (empty: the new planner holds none of
        # it) and, under --available-now, stops there; the next run reads the redeliveries
        run_layers(spark, config, ("bronze",))
        assert spark.table("bronze.events").count() == 40
        run_layers(spark, config, ("bronze", "silver"))

        lake = config.lake.root
        accounting = account(spark, lake)
        assert sum(accounting.bronze.values()) == 90  # 40, their 40 redeliveries, 10 new
        accounting.assert_exactly_once()
        silver = spark.read.format("delta").load(f"{lake}/silver/events")
        assert Counter(r["event_id"] for r in silver.select("event_id").collect()) == Counter(
            str(e.event_id) for e in events
        )
        quarantine = spark.read.format("delta").load(f"{lake}/quarantine/silver_events")
        assert Counter(
            (bytes(r["payload"]), r["reason"])
            for r in quarantine.select("payload", "reason").collect()
        ) == Counter((e.line, "duplicate_event_id") for e in first)
        assert fake.outstanding(SUBSCRIPTION) == []
    finally:
        fake.stop()
