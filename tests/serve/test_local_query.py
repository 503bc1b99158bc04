from __future__ import annotations

import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.errors import LakehouseError
from lakehouse.serve.local_query import QuerySocket, ask


@pytest.fixture
def served(spark: SparkSession, tmp_path: Path) -> Iterator[QuerySocket]:
    server = QuerySocket(spark, tmp_path / "state" / "serve-1.sock")
    server.start()
    yield server
    server.stop()


def test_a_query_on_the_socket_prints_what_lakehouse_sql_prints(served: QuerySocket) -> None:
    assert stat.S_IMODE(served.path.stat().st_mode) == 0o600  # the owner's alone
    query = "SELECT id, CAST(NULL AS STRING) AS note FROM range(3) ORDER BY id"
    assert ask(served.path, query, limit=2) == (
        "+----+------+\n"
        "| id | note |\n"
        "+----+------+\n"
        "|  0 | NULL |\n"
        "|  1 | NULL |\n"
        "+----+------+\n"
        "2 row(s) (more rows not shown; use --limit)"
    )


def test_writes_bad_queries_and_bad_requests_are_one_line(
    served: QuerySocket, tmp_path: Path
) -> None:
    with pytest.raises(LakehouseError) as refused:
        ask(served.path, "DROP TABLE gold.daily_active_users", limit=5)
    assert str(refused.value) == (
        "lakehouse serve only reads and refused this request (SQL DropTable); run it with "
        "`lakehouse sql --allow-writes`, which records the change in ops.batch_log"
    )
    with pytest.raises(LakehouseError, match=r"^query failed: \[TABLE_OR_VIEW_NOT_FOUND\]"):
        ask(served.path, "SELECT * FROM gold.nope", limit=5)
    with pytest.raises(LakehouseError, match=r"^query failed: \[PARSE_SYNTAX_ERROR\]"):
        ask(served.path, "SELEC 1", limit=5)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(served.path))
        conn.sendall(b'{"query": 1}\n')
        answer = conn.makefile("rb").readline()
    assert answer == b'{"error": "a request the server cannot read: \'limit\'"}\n'
    served.stop()
    assert not served.path.exists()
    with pytest.raises(OSError):
        ask(served.path, "SELECT 1", limit=1)
