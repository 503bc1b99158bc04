"""Which Spark Connect requests the read-only server refuses: requests built from the
Connect protobufs the client sends, the SQL in them checked by Spark's parser."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession
from pyspark.sql.connect.proto import (
    base_pb2,
    catalog_pb2,
    commands_pb2,
    expressions_pb2,
    relations_pb2,
)

from lakehouse.errors import LakehouseError
from lakehouse.serve.guard import refusal, walk
from lakehouse.sql_guard import classify


@pytest.fixture(scope="module")
def check(spark: SparkSession):  # type: ignore[no-untyped-def]
    def check_sql(text: str) -> str | None:
        try:
            statement = classify(spark, text)
        except LakehouseError:
            return "unparsable"
        return None if statement.reads_only else statement.writer

    return check_sql


def _sql_relation(query: str) -> relations_pb2.Relation:
    return relations_pb2.Relation(sql=relations_pb2.SQL(query=query))


def _execute(relation: relations_pb2.Relation) -> base_pb2.ExecutePlanRequest:
    return base_pb2.ExecutePlanRequest(session_id="s", plan=base_pb2.Plan(root=relation))


def _command(command: commands_pb2.Command) -> base_pb2.ExecutePlanRequest:
    return base_pb2.ExecutePlanRequest(session_id="s", plan=base_pb2.Plan(command=command))


def _deep(relation: relations_pb2.Relation) -> relations_pb2.Relation:
    """``relation`` under a limit, a filter and a join (its right side)."""
    inner = relations_pb2.Relation(filter=relations_pb2.Filter(input=relation))
    join = relations_pb2.Join(left=_sql_relation("SELECT 1 AS a"), right=inner)
    return relations_pb2.Relation(
        limit=relations_pb2.Limit(input=relations_pb2.Relation(join=join), limit=5)
    )


def test_reads_pass(check) -> None:  # type: ignore[no-untyped-def]
    reads = [
        _execute(_sql_relation("SELECT * FROM gold.daily_active_users")),
        _execute(_deep(_sql_relation("WITH x AS (SELECT 1 AS a) SELECT * FROM x"))),
        _execute(_sql_relation("DESCRIBE HISTORY silver.events")),
        _command(commands_pb2.Command(sql_command=commands_pb2.SqlCommand(sql="SHOW TABLES"))),
        _command(
            commands_pb2.Command(
                sql_command=commands_pb2.SqlCommand(input=_sql_relation("SELECT 2"))
            )
        ),
        _command(
            commands_pb2.Command(
                create_dataframe_view=commands_pb2.CreateDataFrameViewCommand(
                    input=_sql_relation("SELECT 1"), name="v", is_global=False, replace=True
                )
            )
        ),
        _execute(
            relations_pb2.Relation(
                catalog=catalog_pb2.Catalog(list_tables=catalog_pb2.ListTables(db_name="gold"))
            )
        ),
        base_pb2.AnalyzePlanRequest(
            session_id="s",
            schema=base_pb2.AnalyzePlanRequest.Schema(
                plan=base_pb2.Plan(root=_sql_relation("SELECT 1"))
            ),
        ),
    ]
    assert [refusal(r, check) for r in reads] == [None] * len(reads)


def test_writes_are_refused_wherever_they_hide(check) -> None:  # type: ignore[no-untyped-def]
    write = commands_pb2.WriteOperation(input=_sql_relation("SELECT 1"), table=None)
    cases = {
        "SQL DropTable": _command(
            commands_pb2.Command(
                sql_command=commands_pb2.SqlCommand(sql="/* look */ DROP TABLE gold.x")
            )
        ),
        "SQL DeleteFromTable": _command(
            commands_pb2.Command(
                sql_command=commands_pb2.SqlCommand(input=_sql_relation("DELETE FROM t"))
            )
        ),
        "SQL InsertIntoStatement": _execute(
            _deep(_sql_relation("WITH x AS (SELECT 1 AS a) INSERT INTO t SELECT * FROM x"))
        ),
        "SQL CompoundBody": _execute(_sql_relation("BEGIN DROP TABLE gold.x; END")),
        "SQL unparsable": _execute(_sql_relation("SELEC 1")),
        "the write_operation command": _command(commands_pb2.Command(write_operation=write)),
        "the write_operation_v2 command": _command(
            commands_pb2.Command(
                write_operation_v2=commands_pb2.WriteOperationV2(
                    input=_sql_relation("SELECT 1"), table_name="gold.x"
                )
            )
        ),
        "the write_stream_operation_start command": _command(
            commands_pb2.Command(
                write_stream_operation_start=commands_pb2.WriteStreamOperationStart(
                    input=_sql_relation("SELECT 1")
                )
            )
        ),
        "catalog.create_table": _execute(
            _deep(
                relations_pb2.Relation(
                    catalog=catalog_pb2.Catalog(
                        create_table=catalog_pb2.CreateTable(table_name="gold.x", path="/tmp/x")
                    )
                )
            )
        ),
        "SQL TruncateTable": base_pb2.AnalyzePlanRequest(
            session_id="s",
            explain=base_pb2.AnalyzePlanRequest.Explain(
                plan=base_pb2.Plan(root=_sql_relation("TRUNCATE TABLE gold.x"))
            ),
        ),
    }
    assert {k: refusal(r, check) for k, r in cases.items()} == {k: k for k in cases}


def test_walk_reaches_repeated_fields_and_map_values() -> None:
    literal = expressions_pb2.Expression.Literal
    command = commands_pb2.SqlCommand(
        sql="SELECT :a, ?",
        pos_arguments=[expressions_pb2.Expression(literal=literal(integer=2))],
    )
    command.named_arguments["a"].literal.integer = 1
    names = sorted(m.DESCRIPTOR.full_name for m in walk(command))
    assert names == [
        "spark.connect.Expression",
        "spark.connect.Expression",
        "spark.connect.Expression.Literal",
        "spark.connect.Expression.Literal",
        "spark.connect.SqlCommand",
    ]
