"""CLI hardening: table arguments cannot inject SQL, subjects are values never SQL; a
missing or corrupt config, a checkpoint without its metadata and a lake without permission
are one clear line on stderr and exit code 2, without a stack trace."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.config import LakehouseConfig
from lakehouse.demo import run_layers
from lakehouse.retention.erasure import erase, requests_for
from tests.conftest import event_line, events_landing, make_config, register_lake
from tests.reliability.helpers import Finished, run_cli, write_config

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

INJECTIONS = (
    "silver.events; DROP TABLE bronze.events",
    "silver.events' OR '1'='1",
    "bronze.events`; DELETE FROM silver.events; --",
    "../../etc/passwd",
)


def _assert_one_line_error(done: Finished, *fragments: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{done.stderr[-3000:]}"
    line = lines[0]
    assert line.startswith("lakehouse: error: ")
    for marker in ("Traceback", "py4j", "at org.apache", "Exception in thread"):
        assert marker not in done.stderr
    for fragment in fragments:
        assert fragment in line, line
    return line


@pytest.mark.parametrize("bad", INJECTIONS)
def test_table_arguments_cannot_inject_sql(tmp_path: Path, bad: str) -> None:
    config = str(write_config(tmp_path))
    for args in (
        ["validate", "bronze_to_silver", "--table", bad],
        ["retention", "run", "--table", bad],
    ):
        line = _assert_one_line_error(run_cli(["--config", config, *args]), repr(bad))
        assert "known tables are" in line and "silver.events" in line
    assert not (tmp_path / "lake").exists(), "nothing may run with a bad table name"


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    done = run_cli(["--config", str(missing), "catalog"])
    _assert_one_line_error(done, str(missing), "does not exist")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('[lake\nroot = "x"', "is not valid TOML"),
        ("[lake]\nroot = 5\n", "must be a string"),
        ("[nonsense]\n", "unknown section"),
        ('[source]\nmax_files_per_trigger = "many"\n', "is not a whole number"),
        (b"\xff\xfe[lake]".decode("latin-1"), "is not valid TOML"),
    ],
)
def test_corrupt_config_file(tmp_path: Path, content: str, fragment: str) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(content, encoding="latin-1")
    done = run_cli(["--config", str(file), "run", "silver", "--available-now"])
    _assert_one_line_error(done, fragment)


def test_config_that_is_a_folder(tmp_path: Path) -> None:
    done = run_cli(["--config", str(tmp_path), "catalog"])
    _assert_one_line_error(done, str(tmp_path))


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [("delete", "has no metadata file"), ("corrupt", "metadata is unreadable or corrupt")],
)
def test_checkpoint_without_its_metadata(tmp_path: Path, damage: str, fragment: str) -> None:
    config = str(write_config(tmp_path))
    checkpoint = tmp_path / "checkpoints" / "events" / "silver"
    (checkpoint / "offsets").mkdir(parents=True)
    (checkpoint / "offsets" / "0").write_text('v1\n{"batchWatermarkMs":0}\n')
    if damage == "corrupt":
        (checkpoint / "metadata").write_bytes(b"\x00\x01{not json")
    done = run_cli(["--config", config, "run", "silver", "--available-now"])
    _assert_one_line_error(done, str(checkpoint), fragment, "delete the checkpoint folder")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop its DAC capabilities")
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) missing")
@pytest.mark.parametrize(
    "args",
    [
        ["run", "bronze", "--available-now"],
        ["sql", "SELECT count(*) FROM silver.events"],
        ["retention", "run", "--dry-run"],
    ],
)
def test_lake_without_permission(tmp_path: Path, args: list[str]) -> None:
    config = str(write_config(tmp_path))
    lake = tmp_path / "lake"
    lake.mkdir()
    lake.chmod(0)
    try:
        done = run_cli(["--config", config, *args], without_dac=True)
    finally:
        lake.chmod(0o755)
    _assert_one_line_error(done, str(lake), "no permission")


def _lake_with_users(spark: SparkSession, root: Path) -> LakehouseConfig:
    config = make_config(root, gates=False)
    register_lake(spark, config)
    ts = datetime.now(UTC) - timedelta(minutes=10)
    users = ["u-1", "u-2", "u-1' OR '1'='1", "x"]
    lines = [event_line(f"e-{i}", ts, users[i % len(users)]) for i in range(12)]
    landing = Path(events_landing(config))
    landing.mkdir(parents=True)
    (landing / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    run_layers(spark, config, ("bronze", "silver"))
    return config


def test_subjects_are_values_never_sql(spark: SparkSession, tmp_path: Path) -> None:
    config = _lake_with_users(spark, tmp_path)
    key = config.privacy.key()
    silver = spark.read.format("delta").load(f"{config.lake.root}/silver/events")
    before = silver.count()
    hostile = ["u-1' OR '1'='1' --", "%", "*", "' OR 1=1; DROP TABLE silver.events; --"]
    audit = erase(spark, config, requests_for(key, hostile))  # one run erases all four
    assert sum(int(str(a["rows_deleted"])) for a in audit) == 0, audit
    assert silver.count() == before
    # a subject whose id looks like SQL is still erased, exactly and only that subject
    audit = erase(spark, config, requests_for(key, ["u-1' OR '1'='1"]))
    deleted = {str(a["table_name"]): int(str(a["rows_deleted"])) for a in audit}
    assert deleted["silver.events"] == 3
    assert deleted["bronze.events"] == 3
    assert silver.count() == before - 3
    log = Path(config.lake.root, "silver", "events", "_delta_log")
    text = "".join(p.read_text() for p in log.glob("*.json"))
    assert "u-1" not in text and "OR '1'" not in text
