"""Monitoring in the real streams (Trigger.AvailableNow): metrics and findings land in the
ops tables, a critical finding blocks the batch when the dataset says so, and the CLI's
anomalies detect / status / report read what the streams wrote; the report is checked in a
headless Chromium."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.cli import main
from lakehouse.config import DatasetsConfig, LakehouseConfig, TriggerConfig
from lakehouse.io.delta import append_idempotent
from lakehouse.io.jobs import start_job
from lakehouse.io.streams import await_stream
from lakehouse.monitoring.history import metrics_frame
from lakehouse.monitoring.model import BatchMetrics
from lakehouse.ops import BATCH_LOG, STREAM_FAILURES, TABLE_METRICS
from tests.conftest import TEST_KEY, events_landing, make_config, register_lake
from tests.contracts.declared_gold import AGGREGATES
from tests.events import SILVER_EVENTS
from tests.product_generator import GeneratorSpec, generate_events

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EVENTS = 200
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _lines(seed: int, change: dict[str, object], drop: str | None = None) -> list[bytes]:
    spec = GeneratorSpec(count=EVENTS, bad_share=0.0, seed=seed, rate=2.0)
    lines = []
    for e in generate_events(spec):
        event = json.loads(e.line)
        if drop:
            event.pop(drop, None)
        event.update(change)
        lines.append(json.dumps(event).encode())
    return lines


def _write(config: LakehouseConfig, lines: list[bytes], prefix: str) -> None:
    landing = Path(events_landing(config))
    landing.mkdir(parents=True, exist_ok=True)
    (landing / f"{prefix}.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def _run(spark: SparkSession, config: LakehouseConfig) -> None:
    trigger = TriggerConfig(mode="available-now")
    for layer in ("bronze", "silver"):
        await_stream(start_job(spark, config, layer, trigger))


def _seed_history(spark: SparkSession, config: LakehouseConfig) -> None:
    """Twelve earlier steady batches of silver (another writer), so detectors speak at once."""
    now = datetime.now(UTC)
    points = [
        BatchMetrics(
            table_name=SILVER_EVENTS.name,
            job="silver-before",
            batch_id=i,
            batch_ts=now - timedelta(hours=12 - i),
            rows=EVENTS,
            rows_in=EVENTS,
            null_rates={"device": 0.0},
            event_lag_seconds=5.0,
        )
        for i in range(12)
    ]
    append_idempotent(
        metrics_frame(spark, points, "seed"), table_path(config.lake, TABLE_METRICS), "seed", 0
    )


def _blocking_datasets(folder: Path) -> Path:
    """A copy of the datasets whose product-events contract blocks a batch on a critical
    finding (``customProperties: monitoring: block_on_critical``)."""
    shutil.copytree(REPO / "datasets", folder)
    contract = folder / "events" / "contract.yaml"
    data = yaml.safe_load(contract.read_text())
    data["customProperties"].append(
        {"property": "monitoring", "value": {"block_on_critical": True}}
    )
    contract.write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two silver batches: the first loses every device (blocked: the dataset blocks on a
    critical finding), the second brings a new field (a warning; promoted)."""
    root = tmp_path_factory.mktemp("monitored")
    config = make_config(root, gates=False)
    register_lake(spark, config)
    _seed_history(spark, config)
    # the first batch runs with a contract whose monitoring blocks on a critical finding
    blocking = _blocking_datasets(root / "blocking-datasets")
    _write(config, _lines(1, {}, drop="device"), "a-no-device")
    _run(spark, dataclasses.replace(config, datasets=DatasetsConfig(str(blocking), ("events",))))
    _write(config, _lines(2, {"coupon_code": "BF2026"}), "b-new-field")
    _run(spark, config)
    (root / "lakehouse.toml").write_text(
        '[lake]\nroot = "lake"\ncheckpoint_root = "checkpoints"\n'
        f'[datasets]\ndir = "{REPO / "datasets"}"\nnames = ["events"]\n'
        '[source]\nlanding_path = "landing"\n'
        '[spark]\nmaster = "local[2]"\nshuffle_partitions = 2\n'
        f'[quality]\nenabled = false\nsuite_dir = "{REPO / "expectations"}"\n'
        f'[privacy]\npseudonym_key = "{TEST_KEY}"\n'
    )
    yield root
    register_lake(spark, config)


def _config(root: Path) -> LakehouseConfig:
    return make_config(root, gates=False)


def test_a_blocking_critical_finding_quarantines_the_whole_batch(
    spark: SparkSession, lake: Path
) -> None:
    register_lake(spark, _config(lake))
    log = {r["batch_id"]: r for r in spark.table("ops.batch_log").where("job = 'silver'").collect()}
    assert log[0]["status"] == "blocked"
    assert log[0]["rows_out"] == 0
    assert log[0]["rows_quarantined"] == EVENTS
    assert "silver.events: anomaly_blocked:null_rate:device" in log[0]["blocked_reason"]
    assert "monitor silver.events" in log[0]["step_ms"]
    reasons = spark.table("quarantine.silver_events").groupBy("reason").count().collect()
    assert [(r["reason"], r["count"]) for r in reasons] == [
        ("anomaly_blocked:null_rate:device", EVENTS)
    ]
    # the second batch was promoted: a new field is a warning
    assert log[1]["status"] == "ok"
    assert spark.table("silver.events").count() == EVENTS


def test_metrics_and_findings_land_in_the_ops_tables(spark: SparkSession, lake: Path) -> None:
    register_lake(spark, _config(lake))
    metrics = {
        (r["job"], r["batch_id"]): r
        for r in spark.table("ops.table_metrics").where("_writer_id != 'seed'").collect()
    }
    assert set(metrics) == {
        ("bronze-landing", 0),
        ("bronze-landing", 1),
        ("silver", 0),
        ("silver", 1),
    }
    assert metrics[("silver", 0)]["null_rates"]["device"] == 1.0
    assert metrics[("silver", 0)]["rows"] == EVENTS
    assert metrics[("silver", 1)]["rescued_keys"] == ["coupon_code"]
    findings = {
        (r["batch_id"], r["detector"], r["metric"]): r
        for r in spark.table("ops.anomalies").where("job = 'silver'").collect()
    }
    device = findings[(0, "null_rate", "device")]
    assert (device["severity"], device["blocked"], device["status"]) == ("critical", True, "open")
    assert device["observed"] == 1.0
    assert device["expected_high"] == pytest.approx(0.05)
    coupon = findings[(1, "schema_drift", "rescued_data.coupon_code")]
    assert (coupon["severity"], coupon["blocked"]) == ("warning", False)


def test_anomalies_detect_finds_a_stalled_source_and_resolves_old_findings(
    spark: SparkSession, lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(lake)
    register_lake(spark, config)
    # a Kafka bronze stream whose last batch with rows finished three hours ago
    old = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=3)
    row = {
        "job": "bronze-kafka",
        "dataset": "events",
        "batch_id": 41,
        "started_ts": old,
        "finished_ts": old,
        "duration_ms": 900,
        "rows_in": 500,
        "rows_out": 500,
        "rows_quarantined": 0,
        "status": "ok",
        "blocked_reason": None,
        "source_offsets": None,
        "versions_written": {},
        "step_ms": {},
    }
    append_idempotent(
        spark.createDataFrame([row], BATCH_LOG.schema),
        table_path(config.lake, BATCH_LOG),
        "stalled-kafka",
        41,
    )
    toml = str(lake / "lakehouse.toml")
    assert main(["--config", toml, "anomalies", "detect"]) == 1  # a critical finding
    out = capsys.readouterr().out
    assert "stall" in out and "bronze-kafka" in out
    assert main(["--config", toml, "anomalies", "detect"]) == 1
    assert "0 new in ops.anomalies" in capsys.readouterr().out  # recorded once
    rows = spark.table("ops.anomalies").collect()
    stall = [r for r in rows if r["detector"] == "stall"]
    assert [(r["job"], r["batch_id"], r["severity"], r["status"]) for r in stall] == [
        ("bronze-kafka", 41, "critical", "open")
    ]
    # the device nulls of batch 0 are gone in batch 1: resolved
    device = [r for r in rows if r["detector"] == "null_rate"]
    assert [r["status"] for r in device] == ["resolved"]
    assert device[0]["resolved_ts"] is not None


def test_status_prints_each_stream(
    spark: SparkSession, lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(lake / "lakehouse.toml"), "status"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[1].split("|")[1].strip() == "stream"
    silver = next(line for line in lines if line.startswith("| events/silver "))
    cells = [c.strip() for c in silver.strip("|").split("|")]
    assert cells[:3] == ["events/silver", "1", cells[2]]
    assert cells[3] == "ok"
    assert cells[4] == str(EVENTS)
    assert float(cells[5]) > 0  # rows/s
    assert cells[6].endswith(("s", "min"))  # event lag
    assert cells[8] == "0.0 %"
    assert "warning" in cells[9]  # the new field is still open
    assert (
        next(line for line in lines if line.startswith("| events/bronze-kafka ")).count("|") == 11
    )
    assert "open anomalies" in out and "stall" in out


@pytest.fixture(scope="module")
def report(lake: Path) -> Path:
    out = lake / "report"
    assert main(["--config", str(lake / "lakehouse.toml"), "report", "--out", str(out)]) == 0
    return out / "index.html"


def test_report_is_one_self_contained_page(report: Path) -> None:
    page = report.read_text()
    for chart in ("throughput", "lag", "quality", "anomalies"):
        assert f'data-chart="{chart}"' in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert "<script" not in page


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make chromium)")
def test_report_renders_in_a_headless_browser(report: Path) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(report.as_uri())
            assert page.title() == "Lakehouse pipeline health"
            charts = page.locator("svg.chart")
            names = [charts.nth(i).get_attribute("data-chart") for i in range(charts.count())]
            assert names == ["throughput", "lag", "quality", "anomalies"]
            for i in range(charts.count()):
                box = charts.nth(i).bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 50
            series = page.locator('svg[data-chart="throughput"] polyline.series')
            jobs = {series.nth(i).get_attribute("data-series") for i in range(series.count())}
            assert jobs == {"events/bronze-landing", "events/bronze-kafka", "events/silver"}
            lag = page.locator('svg[data-chart="lag"] polyline.series')
            assert lag.count() == 1 and lag.first.get_attribute("data-series") == "silver.events"
            # no gates ran: the quality chart says so instead of drawing nothing
            assert "no data in this window" in (
                page.locator('svg[data-chart="quality"]').text_content() or ""
            )
            bars = page.locator('svg[data-chart="anomalies"] rect.bar')
            severities = {bars.nth(i).get_attribute("data-severity") for i in range(bars.count())}
            assert severities == {"critical", "warning"}
            open_rows = page.locator('table[data-table="open-anomalies"] tbody tr')
            texts = [open_rows.nth(i).inner_text() for i in range(open_rows.count())]
            assert any("stall" in t and "critical" in t for t in texts)
            assert any("rescued_data.coupon_code" in t for t in texts)
            assert not any("null_rate" in t for t in texts)  # resolved
            streams = page.locator('table[data-table="streams"] tbody tr')
            assert streams.count() == 3
            summary = page.locator("#summary").inner_text()
            assert "3 stream(s)" in summary
        finally:
            browser.close()
    assert errors == []


def test_gold_tables_are_measured_in_the_gold_stream(spark: SparkSession, tmp_path: Path) -> None:
    """Each gold table gets a metrics row per gold batch: the windows the batch recomputed,
    their numeric means and category counts; volume is not judged (Monitoring.volume)."""
    config = make_config(tmp_path, gates=False)
    register_lake(spark, config)
    _write(config, _lines(3, {}), "a")
    trigger = TriggerConfig(mode="available-now")
    for layer in ("bronze", "silver", "gold"):
        await_stream(start_job(spark, config, layer, trigger))
    metrics = (
        spark.read.format("delta")
        .load(table_path(config.lake, TABLE_METRICS))
        .where("job = 'gold'")
        .select(
            "table_name",
            "batch_id",
            "rows",
            "rows_in",
            "rows_quarantined",
            F.map_keys("means").alias("measured"),
        )
    )
    expected = []
    for aggregate in AGGREGATES:
        table = aggregate.table
        assert table.monitoring is not None and not table.monitoring.volume
        rows = spark.read.format("delta").load(table_path(config.lake, table)).count()
        assert rows > 0
        expected.append((table.name, 0, rows, rows, 0, list(table.monitoring.numeric_columns)))
    expected_df = spark.createDataFrame(
        expected,
        "table_name string, batch_id long, rows long, rows_in long, rows_quarantined long, "
        "measured array<string>",
    )
    assert_df_equality(
        metrics.withColumn("measured", F.array_sort("measured")),
        expected_df.withColumn("measured", F.array_sort("measured")),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    log = spark.read.format("delta").load(table_path(config.lake, BATCH_LOG)).where("job='gold'")
    [gold] = log.collect()
    assert {f"monitor {a.table.name}" for a in AGGREGATES} <= set(gold["step_ms"])


def test_a_failed_stream_is_failed_in_status_until_it_runs_again(
    spark: SparkSession, lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A silver data file gold has not read yet is corrupted: ``run gold`` fails (exit 1), the
    failure is in ops.stream_failures with its cause and log file, and ``status`` marks the
    stream FAILED. (Last in the module: the lake keeps the corrupt file.)"""
    config = _config(lake)
    register_lake(spark, config)
    silver = spark.read.format("delta").load(table_path(config.lake, SILVER_EVENTS))
    victim = Path(sorted(silver.inputFiles())[0].removeprefix("file:"))
    victim.write_bytes(b"not parquet at all")
    toml = str(lake / "lakehouse.toml")
    capsys.readouterr()
    assert main(["--config", toml, "run", "gold", "--available-now"]) == 1
    assert "events gold: FAILED: " in capsys.readouterr().err
    [failure] = spark.read.format("delta").load(table_path(config.lake, STREAM_FAILURES)).collect()
    assert (failure["dataset"], failure["job"], failure["query_name"]) == (
        "events",
        "gold",
        "lakehouse-events-gold",
    )
    assert failure["error"].startswith("stream 'lakehouse-events-gold' failed: ")
    assert "\n" not in failure["error"]
    assert Path(failure["log_file"]).read_text().count("events gold failed:") == 1
    assert main(["--config", toml, "status"]) == 0
    out = capsys.readouterr().out
    gold = next(line for line in out.splitlines() if line.startswith("| events/gold "))
    assert [c.strip() for c in gold.strip("|").split("|")][:4] == [
        "events/gold",
        "-",
        "-",
        "FAILED",
    ]
    assert "failed streams (1): restart with lakehouse run" in out
    assert "  events/gold at " in out and failure["log_file"] in out
