"""What a hostile newcomer tried, through the CLI in subprocesses as a user sees it: a poison
``.gz`` beside a good file, a control-character country, a ``DELETE`` through ``lakehouse
sql``, a mistyped lake root for every read command, paths that cannot be written; and that
Spark's start-up says nothing on the terminal. One lake serves the tests that need Spark."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tests.conftest import event_line
from tests.reliability.helpers import Finished, run_cli, write_config

pytestmark = [pytest.mark.reliability, pytest.mark.slow]


def _one_line_error(done: Finished, *fragments: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{done.stderr[-3000:]}"
    assert lines[0].startswith("lakehouse: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Finished]:
    """A lake after ``run bronze silver gold`` over a poison file, a good file with a
    control-character country and one that is no country at all."""
    root = tmp_path_factory.mktemp("hostile")
    config = write_config(root, max_files_per_trigger=10)  # monitoring on: the metrics
    env = {"LAKEHOUSE_LOG_DIR": str(root / "logs")}
    landing = root / "landing" / "events"  # the events dataset's folder
    landing.mkdir(parents=True)
    ts = datetime.now(UTC) - timedelta(minutes=5)
    lines = [
        event_line("e1", ts, "u1", country="ES"),
        event_line("e2", ts, "u2", country="\u0000\u0007ES"),
        event_line("e3", ts, "u3", country="ZZ"),
    ]
    (landing / "good.jsonl.gz").write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    (landing / "photo.jsonl.gz").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    done = run_cli(
        ["--config", str(config), "run", "bronze", "silver", "gold", "--available-now"], env
    )
    return config, env, done


def test_poison_file_is_recorded_once_and_the_good_file_lands(
    spark: SparkSession, hostile: tuple[Path, dict[str, str], Finished]
) -> None:
    config, env, done = hostile
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""  # no resolution log, no Spark chatter, no trace
    assert "bronze: 1 unreadable landing file(s) skipped" in done.stdout
    lake = config.parent / "lake"
    bronze = spark.read.format("delta").load(str(lake / "bronze" / "events"))
    assert bronze.count() == 3
    bad = spark.read.format("delta").load(str(lake / "ops" / "bad_files")).collect()
    assert [(Path(r["path"]).name, r["status"], r["attempts"]) for r in bad] == [
        ("photo.jsonl.gz", "skipped", 1)
    ]
    assert bad[0]["error"].startswith("IOException: not a gzip file")

    status = run_cli(["--config", str(config), "--verbose", "status"], env)
    assert status.returncode == 0, status.stderr[-3000:]
    logs = sorted((config.parent / "logs").glob("lakehouse-*.log"))
    assert status.stderr == f"lakehouse: log: {logs[-1]}\n"
    assert "unreadable landing files (1)" in status.stdout and "photo.jsonl.gz" in status.stdout
    assert "lakehouse run --retry-bad-files" in status.stdout


def test_control_characters_are_stripped_and_a_non_country_is_refused(
    spark: SparkSession, hostile: tuple[Path, dict[str, str], Finished]
) -> None:
    config, _, done = hostile
    assert done.returncode == 0, done.stderr[-3000:]
    lake = config.parent / "lake"
    silver = spark.read.format("delta").load(str(lake / "silver" / "events"))
    assert sorted(r["country"] for r in silver.collect()) == ["ES", "ES"]
    quarantine = spark.read.format("delta").load(str(lake / "quarantine" / "silver_events"))
    assert [list(r["reasons"]) for r in quarantine.collect()] == [
        ["expectation_failed:expect_column_values_to_be_in_set(country)"]
    ]
    gold = spark.read.format("delta").load(str(lake / "gold" / "events_per_minute"))
    assert {r["country"] for r in gold.collect()} == {"ES"}
    assert [r[0] for r in gold.agg(F.sum("events")).collect()] == [2]
    # what was removed is counted in silver's metrics, per code field
    metrics = spark.read.format("delta").load(str(lake / "ops" / "table_metrics"))
    [removed] = [
        r["characters_removed"]
        for r in metrics.where(F.col("table_name") == "silver.events").collect()
    ]
    assert {k: v for k, v in removed.items() if v} == {"country": 2}


def test_sql_reads_quietly_and_refuses_a_delete(
    hostile: tuple[Path, dict[str, str], Finished],
) -> None:
    config, env, _ = hostile
    read = run_cli(["--config", str(config), "sql", "SELECT count(*) AS n FROM bronze.events"], env)
    assert read.returncode == 0, read.stderr[-3000:]
    assert read.stderr == ""  # the jars' resolution and Spark's start-up went to the log
    assert "| 3 |" in read.stdout
    refused = run_cli(
        ["--config", str(config), "sql", "/* tidy */ DELETE FROM bronze.events WHERE true"], env
    )
    _one_line_error(refused, "only reads", "DeleteFromTable", "lakehouse erase", "retention run")


READ_COMMANDS = (
    ["sql", "SELECT 1"],
    ["status"],
    ["report", "--out", "{root}/report"],
    ["catalog"],
    ["validate", "bronze_to_silver", "--table", "silver.events"],
    ["anomalies", "detect"],
)


def test_read_commands_on_a_mistyped_lake_root_create_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    text = config.read_text().replace(
        f'root = "{tmp_path / "lake"}"', f'root = "{tmp_path / "lkae"}"'
    )
    config.write_text(text)
    for command in READ_COMMANDS:
        args = [a.format(root=tmp_path) for a in command]
        done = run_cli(
            ["--config", str(config), *args], {"LAKEHOUSE_LOG_DIR": str(tmp_path / "logs")}
        )
        _one_line_error(done, "no lake at lake.root", str(tmp_path / "lkae"), "does not exist")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["lakehouse.toml"], command


def test_paths_that_cannot_be_written_or_read_are_refused_before_spark(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {"LAKEHOUSE_LOG_DIR": str(tmp_path / "logs")}
    report = run_cli(["--config", str(config), "report", "--out", str(blocker / "report")], env)
    _one_line_error(report, "--out", "is not a folder")
    missing = str(tmp_path / "missing.jsonl")
    validate = run_cli(
        ["--config", str(config), "validate", "bronze_to_silver", "--path", missing], env
    )
    _one_line_error(validate, "--path", "does not exist")
    (tmp_path / "lakehouse.toml").write_text(
        config.read_text().replace(f'root = "{tmp_path / "lake"}"', f'root = "{blocker}"')
    )
    sql = run_cli(["--config", str(config), "sql", "SELECT 1"], env)
    _one_line_error(sql, "lake.root", "is not a folder")
    assert not (tmp_path / "logs").exists()  # Spark never started: it would have logged
