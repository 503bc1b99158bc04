"""The state file of a running server, the stop signal and the command's argument errors
(no Spark: real processes and sockets)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.cli import main
from lakehouse.serve.settings import ServeConfig
from lakehouse.serve.state import (
    ServerState,
    alive,
    port_open,
    read_state,
    running_server,
    state_file,
    stop_server,
    write_state,
)


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _state(pid: int, port: int, jvm_pid: int | None = None) -> ServerState:
    return ServerState(
        pid=pid,
        jvm_pid=jvm_pid or pid,
        host="127.0.0.1",
        port=port,
        jdbc_port=None,
        allow_writes=False,
        lake_root="/lake",
        started="2026-12-03T05:00:00+00:00",
    )


def _toml(tmp_path: Path, port: int) -> str:
    file = tmp_path / "lakehouse.toml"
    file.write_text(f'[serve]\nport = {port}\nstate_dir = "state"\n')
    return str(file)


def test_state_file_round_trip_and_stale_files(tmp_path: Path, listener: int) -> None:
    config = ServeConfig(port=listener, state_dir=str(tmp_path))
    assert read_state(config) is None and running_server(config) is None
    state = _state(os.getpid(), listener)
    assert write_state(config, state) == tmp_path / f"serve-{listener}.json"
    assert read_state(config) == state
    assert running_server(config) == state
    assert state.url == f"sc://127.0.0.1:{listener}"

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not alive(dead.pid) and alive(os.getpid())
    write_state(config, _state(dead.pid, listener))
    assert running_server(config) is None
    assert not state_file(config).exists()  # a dead server's file is removed

    state_file(config).write_text("{not json")
    assert read_state(config) is None


def test_stop_signals_the_server_and_waits_for_it(tmp_path: Path) -> None:
    config = ServeConfig(port=15999, state_dir=str(tmp_path))
    assert stop_server(config) is None
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    write_state(config, _state(server.pid, 15999))
    assert stop_server(config) == _state(server.pid, 15999)  # a zombie counts as gone
    assert server.wait(5) == -15
    assert stop_server(config) is None and not state_file(config).exists()


def test_port_open_sees_listeners_only(listener: int) -> None:
    assert port_open("127.0.0.1", listener)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = int(sock.getsockname()[1])
    assert not port_open("127.0.0.1", closed)


def test_serve_arguments_and_config_errors(
    tmp_path: Path, listener: int, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = _toml(tmp_path, listener)
    errors = {
        ("serve", "--jdbc"): f"serve.port: {listener} is taken by another program",
        ("serve", "--stop", "--allow-writes"): "--stop takes no --jdbc or --allow-writes",
        ("serve",): f"serve.port: {listener} is taken by another program",
    }
    for argv, message in errors.items():
        assert main(["--config", toml, *argv]) == 2
        assert message in capsys.readouterr().err

    write_state(
        ServeConfig(port=listener, state_dir=str(tmp_path / "state")),
        _state(os.getpid(), listener),
    )
    assert main(["--config", toml, "serve"]) == 2
    assert (
        f"a server already runs on port {listener} (pid {os.getpid()}, lake /lake); stop it "
        f"with `lakehouse serve --stop --port {listener}`" in capsys.readouterr().err
    )
    assert main(["--config", _toml(tmp_path, 15998), "serve", "--stop"]) == 0
    assert capsys.readouterr().out == "no server runs on port 15998\n"

    bad = {
        'host = "localhost"': "serve.host: 'localhost' is not an IP address",
        "port = 0": "serve.port: 0 must be a TCP port, 1 to 65535",
        "jdbc_port = 15002": "serve.jdbc_port: 15002 is serve.port too",
        "poll_seconds = 0": "serve.poll_seconds: 0 must be 1 to 3600",
    }
    for line, message in bad.items():
        file = tmp_path / "bad.toml"
        file.write_text(f"[serve]\n{line}\n")
        assert main(["--config", str(file), "serve", "--stop"]) == 2
        assert message in capsys.readouterr().err


def test_sql_says_it_starts_a_new_session_when_no_server_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = tmp_path / "lakehouse.toml"
    toml.write_text(f'[lake]\nroot = "{tmp_path / "nolake"}"\n[serve]\nstate_dir = "state"\n')
    assert main(["--config", str(toml), "--verbose", "sql", "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lakehouse sql: in a new session\n")
    assert "datasets folder" in err.splitlines()[-1]  # its own session: checked first
