"""Erasure and minimization, proven on the files: after an erasure nothing under the lake holds
the subject's id or pseudonym; silver and gold never hold a raw id, email or full IP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.cli import main
from lakehouse.demo import run_layers
from lakehouse.generator import GeneratorSpec, generate_events, write_landing
from lakehouse.privacy.pseudonymize import pseudonym
from tests.conftest import (
    TEST_KEY,
    event_line,
    events_landing,
    landing_lake,
    make_config,
    register_lake,
    ungated_kinds,
)
from tests.events import BRONZE_EVENTS, lake_tables
from tests.retention.files import decoded_text, files_containing, log_checkpoint_text
from tests.test_cli import _toml

pytestmark = pytest.mark.slow

KEY = TEST_KEY.encode()
SUBJECT = "usr_subject_0042"
OTHERS = ("usr_other_0001", "usr_other_0002")


def test_silver_and_gold_hold_no_raw_id_email_or_full_ip(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path, gates=False)
    register_lake(spark, config)
    start = datetime.now(UTC) - timedelta(hours=1)
    spec = GeneratorSpec(
        count=120,
        bad_share=0.2,
        seed=8,
        rate=0.05,
        users=20,
        start=start,
        bad_kinds=ungated_kinds(),
    )
    events = generate_events(spec)
    write_landing(events, events_landing(config), events_per_file=60)
    run_layers(spark, config)
    raw = "\n".join(e.line.decode("utf-8", "replace") for e in events)
    assert "usr_" in raw and "@example.com" in raw and "query" in raw  # there was some
    lake = Path(config.lake.root)
    silver_ips = {r["ip"] for r in spark.table("silver.events").collect()} - {None}
    assert silver_ips and all(ip.endswith((".0", "::")) for ip in silver_ips)
    for name in [n for n in lake_tables(spark) if n.startswith(("silver.", "gold."))]:
        folder = lake / name.replace(".", "/", 1)
        text = decoded_text(spark, folder) + log_checkpoint_text(spark, folder)
        for needle in ("usr_", "ses_", "@example.com", "running shoes", "headphones"):
            assert needle not in text, (name, needle)
        assert files_containing(folder, [b"usr_", b"ses_", b"@example.com"]) == [], name
    # quarantine keeps the raw payload (for replay, 30 days) but its user_id is a pseudonym
    quarantined = spark.table("quarantine.silver_events").where(F.col("user_id").isNotNull())
    assert quarantined.count() > 0
    assert quarantined.where(F.col("user_id").startswith("usr_")).count() == 0
    # the quality results of silver's gate keep no observed values of personal columns
    assert (
        spark.table("ops.quality_results").where(F.col("observed_value").contains("usr_")).count()
        == 0
    )


def test_erasure_leaves_no_trace_of_the_subject_in_any_file(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path, gates=False)
    landing = landing_lake(spark, config)
    ts = datetime.now(UTC) - timedelta(minutes=30)
    lines = [
        event_line("s1", ts, SUBJECT, ip="203.0.113.77", session_id="ses_subject"),
        event_line("s2", ts, SUBJECT, event_type="signup", properties={"email": "s@x.io"}),
        event_line("s3", ts - timedelta(days=5), SUBJECT),  # too old: quarantined
        event_line("s1", ts, SUBJECT),  # a duplicate: quarantined
        *[event_line(f"o{i}", ts, OTHERS[i % 2]) for i in range(6)],
        event_line("o9", ts - timedelta(days=5), OTHERS[0]),  # quarantined
    ]
    (landing / "a.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    # a Kafka delivery keyed by the user id, whose payload names no user: found by its key
    # (silver quarantines it as malformed_json)
    keyed = {
        "source": "kafka",
        "partition": "events/0",
        "offset": 7,
        "key": SUBJECT.encode(),
        "payload": b"not json",
        "attributes": None,
        "publish_ts": ts,
        "source_event_ts": ts,
        "ingest_ts": ts,
        "ingest_date": ts.date(),
        "batch_id": 99,
    }
    spark.createDataFrame([keyed], BRONZE_EVENTS.schema).write.format("delta").mode("append").save(
        config.lake.table_path("bronze", "events")
    )
    run_layers(spark, config)
    assert spark.table("silver.events").count() == 8
    assert spark.table("quarantine.silver_events").count() == 4
    not_the_subject = ~F.col("payload").cast("string").contains(SUBJECT)
    others_before = {
        "bronze.events": spark.table("bronze.events")
        .where(not_the_subject & (F.coalesce(F.col("key").cast("string"), F.lit("")) != SUBJECT))
        .count(),
        "quarantine.silver_events": spark.table("quarantine.silver_events")
        .where(not_the_subject)
        .count(),
    }

    toml = str(_toml(tmp_path, gates=False))
    assert (
        main(["--config", toml, "erase", "--subject", SUBJECT, "--defer", "--request-id", "req-1"])
        == 0
    )
    assert main(["--config", toml, "erase", "--requests", "--purge-now"]) == 0
    out = capsys.readouterr().out
    assert "1 request(s) done" in out

    audit = {
        r["table_name"]: r["rows_deleted"]
        for r in spark.table("ops.erasure_audit").where("request_id = 'req-1'").collect()
    }
    assert audit == {"bronze.events": 5, "silver.events": 2, "quarantine.silver_events": 2}
    statuses = [r["status"] for r in spark.table("ops.erasure_requests").collect()]
    assert statuses == ["done"]
    # other subjects are intact
    assert spark.table("silver.events").count() == 6
    assert {r["user_id"] for r in spark.table("silver.events").collect()} == {
        pseudonym(KEY, o) for o in OTHERS
    }
    for name, count in others_before.items():
        assert spark.table(name).count() == count, name

    needles = [SUBJECT, pseudonym(KEY, SUBJECT), pseudonym(KEY, "ses_subject"), "203.0.113.77"]
    for root in (Path(config.lake.root), Path(config.lake.checkpoint_root)):
        assert files_containing(root, [n.encode() for n in needles]) == []
        assert not any(n in log_checkpoint_text(spark, root) for n in needles)
    for name in lake_tables(spark):
        text = decoded_text(spark, Path(config.lake.root) / name.replace(".", "/", 1))
        assert not any(n in text for n in needles), name

    # the streams downstream keep running after the erasure, from their checkpoints
    (landing / "b.jsonl").write_bytes(event_line("n1", ts, OTHERS[0]) + b"\n")
    run_layers(spark, config)
    assert spark.table("silver.events").count() == 7
