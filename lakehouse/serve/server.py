"""The server process: Spark Connect (and Spark's Thrift JDBC/ODBC server) in the session
that registered every table, the read-only proxy in front, new tables registered as they
appear, and a clean stop that leaves no process behind."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from lakehouse.catalog import register_tables, table_path
from lakehouse.config import LakeConfig, LakehouseConfig
from lakehouse.errors import LakehouseError
from lakehouse.ops import TableDef
from lakehouse.serve.local_query import QuerySocket
from lakehouse.serve.proxy import ConnectProxy
from lakehouse.serve.read_only import refuse_writes_in_new_sessions
from lakehouse.serve.state import ServerState, remove_state, socket_file, write_state

__all__ = ["Server", "connect_conf", "free_port", "jdbc_url", "new_token"]

_THRIFT = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"


def free_port() -> int:
    """A TCP port free on loopback now (for Spark's private Connect server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def jdbc_url(host: str, port: int) -> str:
    target = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"jdbc:hive2://{target}:{port}/default;auth=noSasl"


def connect_conf(
    backend_port: int, token: str, jdbc: tuple[str, int] | None, delta_jars: list[str]
) -> dict[str, str]:
    """The Spark settings of the server's session: Spark's Connect plugin on a private
    loopback port behind a token, and with ``jdbc`` (host, port) the Thrift server's (no
    SASL; the Delta jars on the driver's class path, where its sessions look for them)."""
    conf = {
        "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(backend_port),
        "spark.connect.authenticate.token": token,
    }
    if jdbc is not None:
        host, port = jdbc
        conf.update(
            {
                "spark.hadoop.hive.server2.thrift.bind.host": host,
                "spark.hadoop.hive.server2.thrift.port": str(port),
                "spark.hadoop.hive.server2.authentication": "NOSASL",
                "spark.hadoop.hive.server2.transport.mode": "binary",
            }
        )
        if delta_jars:
            conf["spark.driver.extraClassPath"] = os.pathsep.join(delta_jars)
    return conf


class Server:
    """A started session with the Connect plugin (see :func:`connect_conf`) made into the
    served endpoint: :meth:`start`, then :meth:`run` until a signal, then :meth:`close`."""

    def __init__(
        self,
        spark: SparkSession,
        config: LakehouseConfig,
        *,
        backend_port: int,
        token: str,
        jdbc: bool,
        allow_writes: bool,
    ) -> None:
        self._spark = spark
        self._config = config
        self._jdbc = jdbc
        self._allow_writes = allow_writes
        self._stop = threading.Event()
        self._thrift: Any = None
        self._socket: QuerySocket | None = None
        self._served: set[str] = set()
        self._proxy = ConnectProxy(
            backend_port, token, allow_writes=allow_writes, check_sql=self._check_sql
        )
        jvm: Any = spark.sparkContext._jvm
        self.jvm_pid = int(jvm.java.lang.ProcessHandle.current().pid())

    def _check_sql(self, text: str) -> str | None:
        from lakehouse.sql_guard import classify

        try:
            statement = classify(self._spark, text)
        except LakehouseError as exc:  # Spark's parser refused it: refused here too
            return f"it does not parse here: {exc}"
        return None if statement.reads_only else statement.writer

    def start(self) -> ServerState:
        """Open the endpoints and write the state file."""
        serve = self._config.serve
        self.refresh(quiet=True)
        self._proxy.start(serve.host, serve.port)
        try:
            self._socket = QuerySocket(self._spark, socket_file(serve))
            self._socket.start()
        except OSError as exc:  # e.g. a path longer than a Unix socket's 107 bytes
            print(f"lakehouse serve: no local socket for lakehouse sql ({exc})", file=sys.stderr)
            self._socket = None
        if self._jdbc:
            if not self._allow_writes:  # each JDBC connection's session refuses writes
                refuse_writes_in_new_sessions(self._spark)
            jvm: Any = self._spark.sparkContext._jvm
            context = self._spark._jsparkSession.sqlContext()
            self._thrift = getattr(jvm, _THRIFT).startWithContext(context)
        state = ServerState(
            pid=os.getpid(),
            jvm_pid=self.jvm_pid,
            host=serve.host,
            port=serve.port,
            jdbc_port=serve.jdbc_port if self._jdbc else None,
            allow_writes=self._allow_writes,
            lake_root=self._config.lake.root,
            started=datetime.now(UTC).isoformat(timespec="seconds"),
            socket=None if self._socket is None else str(self._socket.path),
        )
        write_state(serve, state)
        return state

    def refresh(self, quiet: bool = False) -> list[str]:
        """Register the tables that appeared since the last look (a new dataset, a gold
        table's first batch); their names."""
        from lakehouse.platform import load_platform

        lake = self._config.lake
        tables = load_platform(self._config, self._spark).tables.values()
        new = [t for t in tables if t.name not in self._served and self._exists(lake, t)]
        if new:
            register_tables(
                self._spark,
                lake,
                new,
                replace_mismatched=self._config.spark.catalog == "in-memory",
                create=False,
            )
            self._served |= {t.name for t in new}
            if not quiet:
                names = ", ".join(sorted(t.name for t in new))
                print(f"lakehouse serve: now serving {names}", flush=True)
        return sorted(t.name for t in new)

    def _exists(self, lake: LakeConfig, table: TableDef) -> bool:
        """Whether the table's Delta log is there now. Asked of the file system, and Delta's
        cached log of the location forgotten when it is: a log Delta opened while the
        table was missing (the start's registration) would say it still is."""
        jvm: Any = self._spark.sparkContext._jvm
        location = table_path(lake, table)
        log = jvm.org.apache.hadoop.fs.Path(location.rstrip("/") + "/_delta_log")
        hadoop = self._spark._jsparkSession.sessionState().newHadoopConf()
        if not log.getFileSystem(hadoop).exists(log):
            return False
        jvm.org.apache.spark.sql.delta.DeltaLog.invalidateCache(
            self._spark._jsparkSession, jvm.org.apache.hadoop.fs.Path(location)
        )
        return True

    @property
    def served(self) -> frozenset[str]:
        return frozenset(self._served)

    def run(self) -> None:
        """Look for new tables every ``[serve] poll_seconds`` until SIGTERM or Ctrl-C."""

        def stop(signum: int, frame: FrameType | None) -> None:
            self._stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        while not self._stop.wait(self._config.serve.poll_seconds):
            try:
                self.refresh()
            except (LakehouseError, PySparkException) as exc:  # keep serving what is served
                print(f"lakehouse serve: cannot register new tables: {exc}", file=sys.stderr)

    def close(self) -> None:
        """Close the endpoints, stop Spark and its JVM, remove the state file."""
        self._proxy.stop()
        if self._socket is not None:
            self._socket.stop()
        if self._thrift is not None:
            self._thrift.stop()
        self._spark.stop()
        _stop_jvm()
        remove_state(self._config.serve, os.getpid())


def _stop_jvm(timeout: float = 30.0) -> None:
    """End the JVM PySpark started for this process (its non-daemon server threads could
    keep it alive). A driver that spark-submit started (Dataproc) is that JVM's child: the
    JVM ends when this process does."""
    from pyspark import SparkContext

    gateway: Any = SparkContext._gateway
    proc = getattr(gateway, "proc", None)
    if proc is not None:
        proc.terminate()
        proc.wait(timeout)


def new_token() -> str:
    return secrets.token_urlsafe(24)
