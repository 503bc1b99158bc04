"""``lakehouse serve``: a warm Spark Connect endpoint (and with ``--jdbc`` Spark's Thrift
JDBC/ODBC server) over every table of the lake."""

from __future__ import annotations

import argparse

from lakehouse.cli.common import Command, Subparsers, session
from lakehouse.config import LakehouseConfig
from lakehouse.errors import ConfigError

__all__ = ["register"]


def register(sub: Subparsers, common: argparse.ArgumentParser) -> dict[str, Command]:
    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="serve every table over Spark Connect (and JDBC with --jdbc) until Ctrl-C",
    )
    serve.add_argument(
        "--jdbc",
        action="store_true",
        help="also start Spark's Thrift JDBC/ODBC server on [serve] jdbc_port (read-only "
        "like Spark Connect unless --allow-writes)",
    )
    serve.add_argument(
        "--allow-writes",
        action="store_true",
        help="let clients run statements that change or drop tables (default: refused)",
    )
    serve.add_argument("--port", type=int, help="Spark Connect port (default: [serve] port)")
    serve.add_argument(
        "--stop", action="store_true", help="stop the server running on the port, and return"
    )
    return {"serve": cmd_serve}


def _check_args(args: argparse.Namespace) -> None:
    if args.stop and (args.jdbc or args.allow_writes):
        raise ConfigError("--stop takes no --jdbc or --allow-writes: it stops what runs")


def cmd_serve(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.serve.state import port_open, running_server, stop_server

    _check_args(args)
    if args.port is not None:
        config = config.with_overrides(serve={"port": args.port})
    serve = config.serve
    if args.stop:
        stopped = stop_server(serve)
        if stopped is None:
            print(f"no server runs on port {serve.port}")
        else:
            print(f"stopped the server on port {serve.port} (pid {stopped.pid})")
        return 0
    running = running_server(serve)
    if running is not None:
        raise ConfigError(
            f"a server already runs on port {serve.port} (pid {running.pid}, lake "
            f"{running.lake_root}); stop it with `lakehouse serve --stop --port {serve.port}`"
        )
    for port, key in [(serve.port, "port"), *([(serve.jdbc_port, "jdbc_port")] * args.jdbc)]:
        if port_open(serve.host, port):
            raise ConfigError(f"serve.{key}: {port} is taken by another program; pick another")
    return _serve(config, jdbc=args.jdbc, allow_writes=args.allow_writes)


def _delta_jars(config: LakehouseConfig) -> list[str]:
    """The Delta jars remembered for this Spark configuration (none: not resolved yet)."""
    from lakehouse.session import cached_jars, spark_conf

    packages = spark_conf(config.spark).get("spark.jars.packages", "")
    jars = (cached_jars(packages) if packages else None) or []
    return [j.removeprefix("file://") for j in jars if "io.delta_delta-" in j]


def _serve(config: LakehouseConfig, *, jdbc: bool, allow_writes: bool) -> int:
    from lakehouse.serve.server import Server, connect_conf, free_port, jdbc_url, new_token

    serve = config.serve
    backend_port, token = free_port(), new_token()
    jdbc_at = (serve.host, serve.jdbc_port) if jdbc else None
    extra = connect_conf(backend_port, token, jdbc_at, _delta_jars(config) if jdbc else [])
    config = config.with_overrides(spark={"extra": {**config.spark.extra, **extra}})
    spark = session(config, "lakehouse-serve", write=allow_writes, create=False)
    server = Server(
        spark,
        config,
        backend_port=backend_port,
        token=token,
        jdbc=jdbc,
        allow_writes=allow_writes,
    )
    try:
        state = server.start()
        mode = "reads and writes" if allow_writes else "read-only"
        print(f"serving {len(server.served)} tables of {config.lake.root} ({mode})")
        print(f"Spark Connect: {state.url}")
        if jdbc:
            print(f"JDBC: {jdbc_url(serve.host, serve.jdbc_port)}")
        if not serve.loopback:
            print(f"warning: bound to {serve.host}, not loopback: put authentication in front")
        print("stop with Ctrl-C or `lakehouse serve --stop`", flush=True)
        server.run()
    finally:
        server.close()
    print("lakehouse serve: stopped", flush=True)
    return 0
