"""``lakehouse sql`` through a running server: a Spark Connect session on its port that
asks the proxy to refuse writes (the ``x-lakehouse-read-only`` header), whatever the
server allows."""

from __future__ import annotations

from typing import Any

from lakehouse.errors import LakehouseError
from lakehouse.serve.settings import ServeConfig
from lakehouse.serve.state import ServerState, running_server

__all__ = ["query_server", "server_for"]


def server_for(config: ServeConfig, lake_root: str) -> ServerState | None:
    """The running server of ``config``'s port when it serves the lake at ``lake_root``."""
    state = running_server(config)
    return state if state is not None and state.lake_root == lake_root else None


def query_server(state: ServerState, query: str, limit: int) -> tuple[list[str], list[Any]]:
    """The columns and at most ``limit`` rows of a read-only ``query`` on the server."""
    from pyspark.errors import PySparkException
    from pyspark.sql.connect.session import SparkSession as RemoteSession

    from lakehouse.serve.proxy import READ_ONLY_HEADER

    spark = RemoteSession.builder.remote(f"{state.url}/;{READ_ONLY_HEADER}=true").create()
    try:
        df = spark.sql(query)
        return df.columns, df.limit(limit).collect()
    except PySparkException as exc:
        raise LakehouseError(f"query failed: {' '.join(str(exc).split())}") from exc
    finally:
        spark.stop()
