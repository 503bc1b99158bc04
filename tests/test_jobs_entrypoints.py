"""The Dataproc entry points in jobs/ run as scripts, with the same config, in new processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

from tests.conftest import events_landing, make_config, register_lake, ungated_kinds
from tests.product_generator import GeneratorSpec, generate_events, write_landing
from tests.test_cli import REPO, _toml

pytestmark = pytest.mark.slow


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "jobs" / script), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _wait_for_rows(
    spark: SparkSession, path: str, rows: int, process: subprocess.Popen[str]
) -> bool:
    """Whether the Delta table at ``path`` came to hold ``rows`` rows while ``process`` ran."""
    while process.poll() is None:
        try:
            if spark.read.format("delta").load(path).count() >= rows:
                return True
        except AnalysisException:  # not created yet
            pass
        time.sleep(2)
    return False


def test_job_scripts_run_every_layer(spark: SparkSession, tmp_path: Path) -> None:
    config = make_config(tmp_path, gates=False)
    toml = str(_toml(tmp_path, gates=False))
    start = datetime.now(UTC) - timedelta(minutes=30)
    spec = GeneratorSpec(count=300, bad_share=0.1, seed=4, start=start, bad_kinds=ungated_kinds())
    events = generate_events(spec)
    write_landing(events, events_landing(config), events_per_file=100)

    # the stream runs every 2 seconds until the events are in bronze, then is stopped as
    # Dataproc cancels a driver: SIGTERM (the timeout only bounds a test that went wrong)
    script = str(REPO / "jobs" / "bronze_ingest.py")
    bronze = subprocess.Popen(
        [sys.executable, script, "--config", toml, "--trigger", "2 seconds", "--timeout", "8m"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        landed = _wait_for_rows(spark, config.lake.table_path("bronze", "events"), 300, bronze)
        bronze.send_signal(signal.SIGTERM)
        stdout, stderr = bronze.communicate(timeout=120)
    finally:
        if bronze.poll() is None:
            bronze.kill()
    assert landed, stderr[-3000:]
    assert bronze.returncode == 0, stderr[-3000:]
    assert "running bronze of events every 2 seconds" in stdout
    assert "stopping ..." in stdout
    for script, layer in (("silver_refine.py", "silver"), ("gold_aggregate.py", "gold")):
        result = _run(script, "--config", toml, "--available-now")
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"{layer}: done in" in result.stdout

    register_lake(spark, config)
    assert spark.table("bronze.events").count() == 300
    good = sum(1 for e in events if e.expected == "silver")
    assert spark.table("silver.events").count() == good
    assert spark.table("quarantine.silver_events").count() == 300 - good
    assert spark.table("gold.daily_active_users").count() >= 1


def test_job_script_with_a_bad_config_fails_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[source]\ntype = 'ftp'\n")
    result = _run("silver_refine.py", "--config", str(bad), "--available-now")
    assert result.returncode == 2
    assert result.stderr == (
        "lakehouse: error: source.type: 'ftp' is not valid; choose one of landing, kafka, "
        "pubsublite, pubsub\n"
    )
