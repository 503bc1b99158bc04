"""One real ``lakehouse serve --jdbc`` process (read-only) over a lake on 127.0.0.1:
a Spark Connect client and beeline (Hive JDBC) query it, it serves a batch written after
it started and a table that appeared after it started, it refuses writes to a read-only
client, ``lakehouse sql`` goes through it, and ``serve --stop`` leaves no process behind."""

from __future__ import annotations

import contextlib
import glob
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyspark
import pytest
from pyspark.sql import SparkSession

from lakehouse.demo import run_layers
from lakehouse.serve.settings import ServeConfig
from lakehouse.serve.state import ServerState, alive, port_open, read_state, state_file
from tests.conftest import TEST_KEY, events_landing, make_config, register_lake
from tests.product_generator import GeneratorSpec, generate_events, write_landing

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
JARS = Path(pyspark.__file__).parent / "jars"
DAU = "SELECT event_date, active_users FROM gold.daily_active_users ORDER BY event_date"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lakehouse(toml: Path, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse", "--config", str(toml), *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _eventually(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _batch(spark: SparkSession, config: Any, seed: int, hours_ago: int) -> None:
    start = datetime.now(UTC) - timedelta(hours=hours_ago)
    spec = GeneratorSpec(count=200, bad_share=0.0, seed=seed, rate=0.05, start=start)
    write_landing(generate_events(spec), events_landing(config), events_per_file=200)
    run_layers(spark, config)


class Served:
    def __init__(self, toml: Path, serve: ServeConfig, process: subprocess.Popen[str]) -> None:
        self.toml, self.serve, self.process = toml, serve, process
        self.state: ServerState | None = None
        self.sessions: list[Any] = []  # Connect sessions, released whatever the outcome

    def release(self) -> None:
        for remote in self.sessions:
            remote.stop()
        self.sessions.clear()


@pytest.fixture(scope="module")
def served(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("serve")
    config = make_config(root, gates=False, monitoring=False)
    register_lake(spark, config)
    _batch(spark, config, seed=1, hours_ago=30)
    # a table whose first batch comes after the server started: it must be registered then
    shutil.rmtree(config.lake.table_path("gold", "hourly_revenue"))
    serve = ServeConfig(
        port=_free_port(), jdbc_port=_free_port(), poll_seconds=2, state_dir=str(root / "state")
    )
    toml = root / "lakehouse.toml"
    toml.write_text(
        f'[lake]\nroot = "{config.lake.root}"\ncheckpoint_root = "{config.lake.checkpoint_root}"\n'
        f'[datasets]\ndir = "{REPO / "datasets"}"\nnames = ["events"]\n'
        '[spark]\nmaster = "local[2]"\nshuffle_partitions = 2\n'
        f'[quality]\nenabled = false\nsuite_dir = "{REPO / "expectations"}"\n'
        f'[privacy]\npseudonym_key = "{TEST_KEY}"\n'
        f"[serve]\nport = {serve.port}\njdbc_port = {serve.jdbc_port}\npoll_seconds = 2\n"
        f'state_dir = "{serve.state_dir}"\n'
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lakehouse",
            "--config",
            str(toml),
            "serve",
            "--jdbc",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    holder = Served(toml, serve, process)
    try:
        deadline = time.monotonic() + 240
        while holder.state is None or not port_open("127.0.0.1", serve.jdbc_port):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the server did not start within 240 s"
            time.sleep(1)
            holder.state = read_state(serve)
        holder.config = config  # type: ignore[attr-defined]
        yield holder
    finally:
        if process.poll() is None:
            with contextlib.suppress(Exception):
                holder.release()
        if process.poll() is None:  # the test failed before its stop: stop it cleanly
            process.terminate()
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)


def _remote(served: Served, read_only: bool = False) -> Any:
    from pyspark.sql.connect.session import SparkSession as RemoteSession

    header = "/;x-lakehouse-read-only=true" if read_only else ""
    return RemoteSession.builder.remote(f"sc://127.0.0.1:{served.serve.port}{header}").create()


def _beeline(served: Served, query: str, refused: bool = False) -> list[str]:
    result = subprocess.run(
        [
            "java",
            "-cp",
            f"{JARS}/*",
            "org.apache.hive.beeline.BeeLine",
            "-u",
            f"jdbc:hive2://127.0.0.1:{served.serve.jdbc_port}/default;auth=noSasl",
            "-n",
            "test",
            "--outputformat=csv2",
            "--silent=true",
            "--showHeader=false",
            "-e",
            query,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if refused:  # the error, on one of beeline's lines
        assert result.returncode != 0, result.stdout[-1500:]
        return [line for line in result.stderr.splitlines() if "lakehouse serve" in line]
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-1500:]
    # beeline -e echoes its prompt before the first row: "0: jdbc:hive2://...> 400"
    return [line.rsplit("> ", 1)[-1] for line in result.stdout.splitlines() if line.strip()]


def _jdbc_reads_and_refuses_writes(spark: SparkSession, served: Served, silver: int) -> None:
    """beeline reads; a write is refused before it runs, with one line naming the plan."""
    assert _beeline(served, "SELECT count(*) FROM silver.events") == [str(silver)]
    users = "SELECT sum(active_users) FROM gold.daily_active_users"  # after the new batch
    total = spark.sql(users).first()
    assert total is not None and _beeline(served, users) == [str(total[0])]
    refused = "lakehouse serve only reads and refused this request"
    for statement, plan in [
        ("DROP TABLE gold.daily_active_users", "DropTable"),
        ("DELETE FROM silver.events WHERE true", "DeleteCommand"),
        ("INSERT INTO ops.erasure_requests SELECT * FROM ops.erasure_requests", "AppendData"),
    ]:
        said = _beeline(served, statement, refused=True)
        assert said and f"{refused} (SQL {plan}); start the server with" in said[0]
    gold = ("daily_active_users", "events_per_minute", "hourly_revenue")
    assert _beeline(served, "SHOW TABLES IN gold") == [f"gold,{t},false" for t in gold]
    assert spark.sql("SELECT count(*) FROM silver.events").first() == (silver,)


def _lakehouse_sql_via_the_server(served: Served, rows: int) -> None:
    """`lakehouse sql` asks the server on its local socket, and through Spark Connect when
    the socket is gone; the answer is the same; a write is refused either way."""
    state = served.state
    assert state is not None and state.socket is not None
    url = f"sc://127.0.0.1:{served.serve.port}"
    via = _lakehouse(served.toml, "--verbose", "sql", DAU)
    assert via.returncode == 0, via.stderr[-2000:]
    assert f"lakehouse sql: via server {url} (its local socket)\n" in via.stderr
    assert via.stdout.splitlines()[-1] == f"{rows} row(s)"
    delete = _lakehouse(served.toml, "sql", "DELETE FROM gold.daily_active_users")
    assert delete.returncode == 2
    refused = "lakehouse serve only reads and refused this request"
    assert f"{refused} (SQL DeleteFromTable)" in delete.stderr
    Path(state.socket).unlink()  # no socket: lakehouse sql is a Spark Connect client
    connect = _lakehouse(served.toml, "--verbose", "sql", DAU)
    assert connect.returncode == 0, connect.stderr[-2000:]
    assert f"lakehouse sql: via server {url}\n" in connect.stderr
    assert connect.stdout == via.stdout
    delete = _lakehouse(served.toml, "sql", "DELETE FROM gold.daily_active_users")
    assert f"{refused} (SQL DeleteFromTable)" in delete.stderr


def test_clients_query_refuse_writes_and_stop_leaves_nothing(
    spark: SparkSession, served: Served
) -> None:
    config = served.config  # type: ignore[attr-defined]
    state = served.state
    assert state is not None and state.jdbc_port == served.serve.jdbc_port
    remote = _remote(served)
    served.sessions.append(remote)
    first = [tuple(r) for r in spark.sql(DAU).collect()]
    assert [tuple(r) for r in remote.sql(DAU).collect()] == first

    register_lake(spark, config)  # hourly_revenue again, empty
    _batch(spark, config, seed=2, hours_ago=4)  # a batch after the server started
    second = [tuple(r) for r in spark.sql(DAU).collect()]
    assert second != first
    assert [tuple(r) for r in remote.sql(DAU).collect()] == second
    revenue = spark.sql("SELECT count(*) FROM gold.hourly_revenue").first()
    assert (
        _eventually(lambda: remote.sql("SELECT count(*) FROM gold.hourly_revenue").first())
        == revenue
    )

    silver = spark.sql("SELECT count(*) FROM silver.events").first()
    assert silver is not None
    _jdbc_reads_and_refuses_writes(spark, served, silver[0])
    refused = "lakehouse serve only reads and refused this request"

    guarded = _remote(served, read_only=True)
    served.sessions.append(guarded)
    with pytest.raises(Exception, match=f"{refused} \\(SQL DropTable\\)"):
        guarded.sql("DROP TABLE gold.daily_active_users")
    with pytest.raises(Exception, match=f"{refused} \\(the write_operation command\\)"):
        guarded.range(3).write.format("delta").saveAsTable("gold.nope")
    assert guarded.sql("SELECT count(*) FROM silver.events").first() == silver

    _lakehouse_sql_via_the_server(served, rows=len(second))
    again = _lakehouse(served.toml, "serve")
    assert again.returncode == 2
    assert f"a server already runs on port {served.serve.port} (pid {state.pid}" in again.stderr

    served.release()  # while the server runs: a release on a stopped one retries for minutes
    children = [
        int(Path(p).parent.name) for p in glob.glob("/proc/[0-9]*/stat") if _child_of(p, state.pid)
    ]
    assert state.jvm_pid in children
    stop = _lakehouse(served.toml, "serve", "--stop")
    assert stop.stdout == f"stopped the server on port {served.serve.port} (pid {state.pid})\n"
    out, _ = served.process.communicate(timeout=60)
    assert served.process.returncode == 0
    assert "now serving gold.hourly_revenue" in out
    assert out.splitlines()[-1] == "lakehouse serve: stopped"
    assert not alive(state.pid) and not alive(state.jvm_pid)
    assert not port_open("127.0.0.1", served.serve.port)
    assert not port_open("127.0.0.1", served.serve.jdbc_port)
    assert not state_file(served.serve).exists()
    assert [c for c in children if alive(c)] == []  # the JVM and Python workers ended


def _child_of(stat: str, pid: int) -> bool:
    try:
        return Path(stat).read_text().rsplit(")", 1)[-1].split()[1] == str(pid)
    except OSError:
        return False
