from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.cli import main
from lakehouse.errors import LakehouseError
from lakehouse.sql_guard import Statement, classify
from tests.conftest import make_config, register_lake

READS = {
    "SELECT 1": ("Project", ()),
    "WITH x AS (SELECT 1 AS a) SELECT * FROM x": ("UnresolvedWith", ("x",)),
    "-- DELETE FROM t\nSELECT * FROM bronze.events VERSION AS OF 0": (
        "Project",
        ("bronze.events",),
    ),
    "SHOW TABLES IN bronze": ("ShowTables", None),
    "DESCRIBE HISTORY bronze.events": ("DescribeDeltaHistory", None),
    "EXPLAIN DELETE FROM bronze.events": ("ExplainCommand", None),
    # the tables a query reads, for `lakehouse sql` to register only those
    "SELECT s.event_id FROM Silver.Events s JOIN spark_catalog.gold.daily_active_users g"
    " ON s.event_date = g.event_date": ("Project", ("silver.events", "gold.daily_active_users")),
    "SELECT count(*) FROM silver.events WHERE user_id IN (SELECT user_id FROM bronze.events)"
    " AND EXISTS (SELECT 1 FROM ops.batch_log) AND 1 < (SELECT max(n) FROM quarantine.x)": (
        "Project",
        ("silver.events", "bronze.events", "ops.batch_log", "quarantine.x"),
    ),
}
WRITES = {
    "DELETE FROM bronze.events WHERE true": "DeleteFromTable",
    "/* only a look */ DROP TABLE bronze.events": "DropTable",
    "UPDATE t SET a = 1": "UpdateTable",
    "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE": "MergeIntoTable",
    "WITH x AS (SELECT 1 AS a) INSERT INTO t SELECT * FROM x": "InsertIntoStatement",
    "INSERT OVERWRITE DIRECTORY '/tmp/out' SELECT 1": "InsertIntoDir",
    "VACUUM bronze.events RETAIN 0 HOURS": "VacuumTableCommand",
    "RESTORE TABLE t TO VERSION AS OF 1": "RestoreTableStatement",
    "TRUNCATE TABLE t": "TruncateTable",
    "CREATE TABLE t2 AS SELECT 1": "CreateTableAsSelect",
    "ALTER TABLE t SET TBLPROPERTIES ('a' = 'b')": "SetTableProperties",
    "SET spark.sql.shuffle.partitions = 1": "SetCommand",
}


@pytest.mark.parametrize(("statement", "expected"), READS.items())
def test_statements_that_only_read(
    spark: SparkSession, statement: str, expected: tuple[str, tuple[str, ...] | None]
) -> None:
    kind, tables = expected
    parsed = classify(spark, statement)
    assert parsed == Statement(kind, True, None, parsed.tables)
    found = None if parsed.tables is None else sorted(parsed.tables)
    assert found == (None if tables is None else sorted(tables))


@pytest.mark.parametrize(("statement", "writer"), WRITES.items())
def test_statements_that_write(spark: SparkSession, statement: str, writer: str) -> None:
    parsed = classify(spark, statement)
    assert (parsed.reads_only, parsed.writer) == (False, writer)


def test_a_statement_that_does_not_parse_is_one_error(spark: SparkSession) -> None:
    with pytest.raises(LakehouseError, match=r"^query failed: \[PARSE_SYNTAX_ERROR\]"):
        classify(spark, "SELEC 1")


@pytest.mark.slow
def test_allow_writes_runs_the_change_and_records_it(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path)
    register_lake(spark, config)
    spark.sql("INSERT INTO ops.erasure_requests VALUES ('r1', 'h', current_timestamp(), 'x', null)")
    file = tmp_path / "lakehouse.toml"
    file.write_text(
        f'[lake]\nroot = "{config.lake.root}"\n'
        f'[datasets]\ndir = "{config.datasets.dir}"\nnames = ["events"]\n'
        f'[quality]\nsuite_dir = "{config.quality.suite_dir}"\n'
    )
    delete = "DELETE FROM ops.erasure_requests WHERE request_id = 'r1'"
    assert main(["--config", str(file), "sql", delete]) == 2
    assert "--allow-writes" in capsys.readouterr().err
    assert spark.table("ops.erasure_requests").count() == 1
    assert main(["--config", str(file), "sql", "--allow-writes", delete]) == 0
    assert spark.table("ops.erasure_requests").count() == 0
    (log,) = spark.table("ops.batch_log").collect()
    assert (log["job"], log["status"], dict(log["versions_written"])) == (
        "sql:DeleteFromTable",
        "ok",
        {"ops.erasure_requests": 2},
    )
