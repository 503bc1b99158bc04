from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.cli import main
from lakehouse.config import KEY_ENV_VAR
from lakehouse.privacy.keys import fingerprint
from tests.conftest import TEST_KEY, make_config, register_lake

REPO = Path(__file__).resolve().parents[1]


def _toml(root: Path, gates: bool = True, key_file: bool = False) -> Path:
    """The configuration of ``make_config(root)`` as a file; the pseudonym key inline, or
    (``key_file``) in a file ``secrets/pseudonym.key`` that may not exist yet."""
    config = root / "lakehouse.toml"
    key = (
        'pseudonym_key_file = "secrets/pseudonym.key"'
        if key_file
        else f'pseudonym_key = "{TEST_KEY}"'
    )
    config.write_text(
        '[lake]\nroot = "lake"\ncheckpoint_root = "checkpoints"\n'
        f'[datasets]\ndir = "{REPO / "datasets"}"\nnames = ["events"]\n'
        '[source]\nlanding_path = "landing"\n'
        '[spark]\nmaster = "local[2]"\nshuffle_partitions = 2\n'
        f'[quality]\nenabled = {str(gates).lower()}\nsuite_dir = "{REPO / "expectations"}"\n'
        f"[privacy]\n{key}\n"
    )
    return config


def test_missing_config_file_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["--config", str(tmp_path / "nope.toml"), "sql", "SELECT 1"])
    err = capsys.readouterr().err
    assert code == 2
    missing = tmp_path / "nope.toml"
    assert err == f"lakehouse: error: config file '{missing}' does not exist or is not a file\n"


def test_bad_trigger_interval_is_rejected_before_spark_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["run", "bronze", "--trigger", "often"])
    assert code == 2
    assert "trigger.interval: 'often' is not a duration" in capsys.readouterr().err


def test_a_missing_pseudonym_key_says_how_to_set_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "lakehouse.toml"
    config.write_text('[privacy]\npseudonym_key_file = "nope.key"\n')
    assert main(["--config", str(config), "erase", "--subject", "u1"]) == 2
    err = capsys.readouterr().err
    assert "privacy.pseudonym_key_file:" in err and "LAKEHOUSE_PRIVACY_PSEUDONYM_KEY" in err
    config.write_text("")
    assert main(["--config", str(config), "erase", "--subject", "u1"]) == 2
    assert "privacy.pseudonym_key is not set" in capsys.readouterr().err


def test_catalog_lists_owner_classification_and_retention(
    spark: SparkSession, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["--config", str(_toml(tmp_path)), "catalog"]) == 2
    assert "no lake at lake.root" in capsys.readouterr().err
    register_lake(spark, make_config(tmp_path))
    assert main(["--config", str(_toml(tmp_path)), "catalog"]) == 0
    lines = capsys.readouterr().out.splitlines()
    (silver,) = [line for line in lines if line.startswith("| silver.events ")]
    assert "product-analytics" in silver and "pseudonymous: user_id" in silver
    assert "400 days on event_ts" in silver
    # where the key comes from and its version, never the key itself
    version = fingerprint(TEST_KEY.encode())
    assert lines[-1] == f"pseudonym key: privacy.pseudonym_key ({KEY_ENV_VAR}), version {version}"
    assert main(["--config", str(_toml(tmp_path)), "catalog", "--columns"]) == 0
    rows = [line.split("|") for line in capsys.readouterr().out.splitlines()]
    cells = {(r[1].strip(), r[2].strip()): r[4].strip() for r in rows if len(r) == 6}
    assert cells[("bronze.events", "payload")] == "pii_direct"
    assert cells[("silver.events", "ip")] == "pii_quasi"


def test_unknown_layer_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "platinum"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'platinum'" in capsys.readouterr().err


@pytest.mark.slow
def test_sql_prints_a_table_and_reports_bad_queries(
    spark: SparkSession, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = _toml(tmp_path)
    register_lake(spark, make_config(tmp_path))
    assert main(["--config", str(config), "sql", "SELECT 1 AS one, 'x' AS letter"]) == 0
    assert capsys.readouterr().out == (
        "+-----+--------+\n"
        "| one | letter |\n"
        "+-----+--------+\n"
        "|   1 | x      |\n"
        "+-----+--------+\n"
        "1 row(s)\n"
    )
    assert main(["--config", str(config), "sql", "SELECT * FROM gold.nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lakehouse: error: query failed: [TABLE_OR_VIEW_NOT_FOUND]")
    assert err.count("\n") == 1 and "(full trace: " in err


@pytest.mark.slow
def test_demo_accounts_for_every_event_and_a_second_process_reads_its_gold(
    spark: SparkSession,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake = tmp_path / "envlake"
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(lake))
    config = _toml(tmp_path, key_file=True)
    code = main(["--config", str(config), "demo", "--events", "400", "--seed", "3"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "OK: events: 400 events sent, 400 in bronze" in out
    key = tmp_path / "secrets" / "pseudonym.key"
    assert f"created a random pseudonym key in {key}" in out
    assert len(key.read_text().strip()) == 64 and key.stat().st_mode & 0o077 == 0
    assert (lake / "bronze" / "events" / "_delta_log").is_dir()

    # the demo's gold, read by `lakehouse sql` in a process of its own (its own session and
    # catalog: the tables are found in the lake, not in this process's catalog)
    expected = [
        f"| {r['event_date']} | {r['active_users']:>12} |"
        for r in spark.read.format("delta")
        .load(str(lake / "gold" / "daily_active_users"))
        .orderBy("event_date")
        .collect()
    ]
    assert expected
    query = "SELECT event_date, active_users FROM gold.daily_active_users ORDER BY event_date"
    result = subprocess.run(
        [sys.executable, "-m", "lakehouse", "--config", str(config), "sql", query],
        cwd=REPO,  # LAKEHOUSE_LAKE_ROOT (set above) reaches it with the environment
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[1] == "| event_date | active_users |"
    assert lines[3 : 3 + len(expected)] == expected
    assert lines[-1] == f"{len(expected)} row(s)"


def _location(spark: SparkSession, name: str) -> str:
    row = spark.sql(f"DESCRIBE TABLE EXTENDED {name}").where("col_name = 'Location'").first()
    assert row is not None
    return str(row["data_type"])


def test_sql_registers_the_tables_its_query_reads(
    spark: SparkSession, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A query gets the tables it reads registered (its subqueries' too), not all 20-odd:
    here every name points at lake a, and a query on lake b moves only the ones it reads."""
    register_lake(spark, make_config(tmp_path / "a"))
    (tmp_path / "b").mkdir()
    shutil.copytree(tmp_path / "a" / "lake", tmp_path / "b" / "lake")
    config = _toml(tmp_path / "b")
    query = (
        "SELECT count(*) AS n FROM silver.events"
        " WHERE user_id IN (SELECT user_id FROM bronze.events)"
    )
    assert main(["--config", str(config), "sql", query]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == ["+---+", "1 row(s)"]
    b = str(tmp_path / "b" / "lake")
    assert _location(spark, "silver.events").endswith(f"{b}/silver/events")
    assert _location(spark, "bronze.events").endswith(f"{b}/bronze/events")
    assert _location(spark, "ops.batch_log").endswith(f"{tmp_path}/a/lake/ops/batch_log")
    assert _location(spark, "gold.daily_active_users").startswith(f"file:{tmp_path}/a/")
    gold = "SELECT count(*) AS n FROM gold.daily_active_users"
    assert main(["--config", str(config), "sql", gold]) == 0
    assert _location(spark, "gold.daily_active_users").endswith(f"{b}/gold/daily_active_users")
