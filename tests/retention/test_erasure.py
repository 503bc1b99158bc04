"""Erasure and minimization, proven on the files: after an erasure nothing under the lake holds
the subject's id or pseudonym; silver and gold never hold a raw id, email or full IP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.cli import main
from lakehouse.demo import run_layers
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
from tests.product_generator import GeneratorSpec, generate_events, write_landing
from tests.retention.files import decoded_text, files_containing, log_checkpoint_text, scan
from tests.test_cli import _toml

pytestmark = pytest.mark.slow

KEY = TEST_KEY.encode()
SUBJECT = "usr_subject_0042"
OTHERS = ("usr_other_0001", "usr_other_0002")
LONGER = SUBJECT + "1"  # another subject, whose id starts with the subject's


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


def _kafka_row(
    offset: int, ts: datetime, key: str | None, payload: bytes, **headers: str
) -> dict[str, object]:
    """A bronze row as the Kafka source writes it (key and headers kept raw)."""
    return {
        "source": "kafka",
        "partition": "events/0",
        "offset": offset,
        "key": key.encode() if key else None,
        "payload": payload,
        "attributes": headers or None,
        "publish_ts": ts,
        "source_event_ts": ts,
        "ingest_ts": ts,
        "ingest_date": ts.date(),
        "batch_id": 99,
    }


def _hostile_fixture(ts: datetime) -> tuple[list[bytes], list[dict[str, object]]]:
    """The subject's events in every shape, among other subjects' (one of whose id has the
    subject's as a prefix): landing lines, and bronze rows as Kafka delivers them."""
    at = ts.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    s = SUBJECT
    lines = [
        # good, with a nested unknown field naming the subject (rescued into silver)
        event_line("s1", ts, s, ip="203.0.113.77", session_id="ses_subject", profile={"ref": s}),
        event_line("s1", ts, s),  # a duplicate
        event_line("s3", ts - timedelta(days=5), s),  # too old
        event_line("s4", ts, s, amount="lots", schema_version="one"),  # wrong types
        # not strict JSON: silver's lenient parse reads it, get_json_object does not
        f'{{"event_id": "s5", "event_type": "purchase", "event_ts": "{at}", "user_id": "{s}", '
        '"amount": Infinity, "currency": "EUR", "schema_version": 1}'.encode(),
        f'{{"event_id": "s6", "user_id": "{s}", "event_ts": '.encode(),  # malformed JSON
        b"\xff\xfe" + event_line("s7", ts, s) + b"\xc3",  # invalid UTF-8 around the id
        # the id only nested, no user_id
        f'{{"event_id": "s8", "event_type": "page_view", "event_ts": "{at}", '
        f'"actor": {{"id": "{s}"}}, "schema_version": 1}}'.encode(),
        # the id JSON-escaped: silver decodes it
        event_line("s9", ts, s).replace(s.encode(), s.replace("_", "\\u005f").encode()),
        *[event_line(f"o{i}", ts, OTHERS[i % 2]) for i in range(6)],
        event_line("l1", ts, LONGER, note=SUBJECT + "x"),
        f'{{"event_id": "l2", "user_id": "{LONGER}", '.encode(),
    ]
    kafka = [
        _kafka_row(7, ts, s, b"not json"),  # found by its key only
        _kafka_row(8, ts, None, b'{"event_id": "k2"}', user=s),  # by a header only
        _kafka_row(9, ts, LONGER, event_line("k3", ts, LONGER)),
    ]
    return lines, kafka


def test_erasure_leaves_no_trace_of_the_subject_in_any_file(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path, gates=False)
    landing = landing_lake(spark, config)
    ts = datetime.now(UTC) - timedelta(minutes=30)
    lines, kafka = _hostile_fixture(ts)
    (landing / "a.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    spark.createDataFrame(kafka, BRONZE_EVENTS.schema).write.format("delta").mode("append").save(
        config.lake.table_path("bronze", "events")
    )
    run_layers(spark, config)
    tables = ("bronze.events", "silver.events", "quarantine.silver_events")
    assert [spark.table(t).count() for t in tables] == [20, 10, 10]
    subject_rows = {"bronze.events": 11, "silver.events": 2, "quarantine.silver_events": 9}
    before = {t: [repr(r) for r in spark.table(t).collect()] for t in tables}

    toml = str(_toml(tmp_path, gates=False))
    lake, checkpoints = Path(config.lake.root), Path(config.lake.checkpoint_root)
    needles = [
        re.compile(re.escape(SUBJECT.encode()) + rb"(?![0-9A-Za-z_])"),  # not LONGER's prefix
        re.compile(re.escape(SUBJECT.replace("_", "\\u005f").encode())),
        *[re.compile(pseudonym(KEY, i).encode()) for i in (SUBJECT, "ses_subject")],
        re.compile(rb"203\.0\.113\.77"),
    ]
    # the scan sees into compressed Parquet pages: before the erasure it finds every needle
    found = " ".join(scan(lake, needles))
    assert all(repr(n.pattern) in found for n in needles)
    assert (
        main(["--config", toml, "erase", "--subject", SUBJECT, "--defer", "--request-id", "req-1"])
        == 0
    )
    assert main(["--config", toml, "erase", "--requests", "--purge-now"]) == 0
    out = capsys.readouterr().out
    assert "1 request(s) done" in out and "payload " in out

    audit = {
        r["table_name"]: (r["rows_deleted"], r["rows_found_by"])
        for r in spark.table("ops.erasure_audit").where("request_id = 'req-1'").collect()
        if r["table_name"] in tables  # the other datasets' tables: nothing of the subject
    }
    assert {t: a[0] for t, a in audit.items()} == subject_rows
    assert audit["bronze.events"][1] == {"key": 1, "parse": 6, "payload": 9, "fields": 1}
    assert audit["silver.events"][1] == {"pseudonym": 2, "fields": 1, "lineage": 2}
    assert audit["quarantine.silver_events"][1] == {
        "pseudonym": 4,  # s7 (invalid UTF-8) and the Kafka rows have none
        "parse": 4,
        "payload": 7,
        "lineage": 9,
    }
    statuses = [r["status"] for r in spark.table("ops.erasure_requests").collect()]
    assert statuses == ["done"]
    assert scan(lake, needles) == []
    assert scan(checkpoints, needles) == []
    # the other subjects' rows are all there, unchanged
    for name in tables:
        after = [repr(r) for r in spark.table(name).collect()]
        assert len(after) == len(before[name]) - subject_rows[name], name
        assert set(after) <= set(before[name]), name
    assert {r["user_id"] for r in spark.table("silver.events").collect()} == {
        pseudonym(KEY, o) for o in (*OTHERS, LONGER)
    }

    # the streams downstream keep running after the erasure, from their checkpoints
    (landing / "b.jsonl").write_bytes(event_line("n1", ts, OTHERS[0]) + b"\n")
    run_layers(spark, config)
    assert spark.table("silver.events").count() == 9
