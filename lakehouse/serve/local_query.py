"""``lakehouse sql`` through a running server without a Spark Connect client: one JSON line
on a Unix socket next to the server's state file, the printed answer back.

A Spark Connect client costs a new Python process more than a second of imports (pandas,
pyarrow, gRPC) before its first request; this path needs the standard library only, so
``lakehouse sql`` answers from a warm server in about the time Python takes to start. The
socket is its owner's alone (mode 0600, made under a 0077 umask), so only the server's user
can send a query. What runs is what ``lakehouse sql`` runs in a new session: a statement
:func:`lakehouse.sql_guard.classify` calls a write is refused whatever the server allows
(writes go through ``lakehouse sql --allow-writes``, which records them), in a session of
its own (``newSession``: no setting or view of one query reaches another).
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["REFUSED", "QuerySocket", "ask"]

REFUSED = "lakehouse serve only reads and refused this request"
_MAX_REQUEST = 1 << 20


class QuerySocket:
    """The server's end: a listening Unix socket at ``path`` and a thread per request."""

    def __init__(self, spark: SparkSession, path: Path) -> None:
        self._spark = spark.newSession()
        self.path = path
        self._listener: socket.socket | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)  # a socket file a killed server left
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        umask = os.umask(0o077)
        try:
            listener.bind(str(self.path))
        finally:
            os.umask(umask)
        os.chmod(self.path, 0o600)
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, name="lakehouse-sql-socket", daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.path.unlink(missing_ok=True)

    def _accept(self) -> None:
        listener = self._listener
        while listener is not None:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed by stop()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            try:
                request = json.loads(stream.readline(_MAX_REQUEST))
                answer = self.answer(str(request["query"]), int(request["limit"]))
            except (ValueError, KeyError, TypeError) as exc:
                answer = {"error": f"a request the server cannot read: {exc}"}
            try:
                stream.write(json.dumps(answer).encode() + b"\n")
                stream.flush()
            except OSError:
                pass  # the client went away

    def answer(self, query: str, limit: int) -> dict[str, Any]:
        """``{"text": <the printed table and row count>}`` or ``{"error": <one line>}``."""
        from pyspark.errors import PySparkException

        from lakehouse.display import format_result
        from lakehouse.engine_errors import root_cause
        from lakehouse.sql_guard import classify

        try:
            statement = classify(self._spark, query)
            if not statement.reads_only:
                return {
                    "error": f"{REFUSED} (SQL {statement.writer}); run it with `lakehouse sql "
                    "--allow-writes`, which records the change in ops.batch_log"
                }
            df = self._spark.sql(query)
            rows = df.limit(limit + 1).collect()
            return {"text": format_result(df.columns, rows, limit)}
        except LakehouseError as exc:
            return {"error": str(exc)}
        except PySparkException as exc:
            return {"error": f"query failed: {root_cause(exc)}"}


def ask(path: Path, query: str, limit: int, timeout: float = 2.0) -> str:
    """The server's printed answer to ``query``; a ``LakehouseError`` with its one line when
    it refuses or the query fails; ``OSError`` when no server answers on ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(str(path))
        conn.settimeout(None)  # a query takes what it takes
        with conn.makefile("rwb") as stream:
            stream.write(json.dumps({"query": query, "limit": limit}).encode() + b"\n")
            stream.flush()
            line = stream.readline()
    if not line:
        raise OSError(f"the server closed {path} without an answer")
    answer = json.loads(line)
    if "error" in answer:
        raise LakehouseError(str(answer["error"]))
    return str(answer["text"])
