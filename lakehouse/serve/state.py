"""The state file of a running server: one JSON file per port in the state folder, written
when the server is ready and removed when it stops. A second ``serve`` on the same port
reads it and says one is running; ``serve --stop`` and ``lakehouse sql`` find it there."""

from __future__ import annotations

import json
import os
import signal
import socket
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lakehouse.errors import ConfigError
from lakehouse.serve.settings import ServeConfig

__all__ = [
    "ServerState",
    "alive",
    "port_open",
    "read_state",
    "remove_state",
    "running_server",
    "socket_file",
    "state_file",
    "stop_server",
    "write_state",
]


@dataclass(frozen=True)
class ServerState:
    """What a running server writes: its pid and its JVM's, where it listens, whether it
    refuses writes, and the lake it serves."""

    pid: int
    jvm_pid: int
    host: str
    port: int
    jdbc_port: int | None
    allow_writes: bool
    lake_root: str
    started: str
    socket: str | None = None  # lakehouse sql's Unix socket (lakehouse.serve.local_query)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"sc://{host}:{self.port}"


def state_dir(config: ServeConfig) -> Path:
    if config.state_dir:
        return Path(config.state_dir)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "lakehouse"


def state_file(config: ServeConfig) -> Path:
    return state_dir(config) / f"serve-{config.port}.json"


def socket_file(config: ServeConfig) -> Path:
    return state_dir(config) / f"serve-{config.port}.sock"


def write_state(config: ServeConfig, state: ServerState) -> Path:
    """Write the state file atomically (a reader never sees half of it)."""
    file = state_file(config)
    file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=file.parent, delete=False) as tmp:
        json.dump(asdict(state), tmp, indent=1)
    os.replace(tmp.name, file)
    return file


def read_state(config: ServeConfig) -> ServerState | None:
    """The state in the file, None when there is none or it cannot be read."""
    try:
        data = json.loads(state_file(config).read_text(encoding="utf-8"))
        return ServerState(**data)
    except (OSError, ValueError, TypeError):
        return None


def remove_state(config: ServeConfig, pid: int) -> None:
    """Remove the state file if it is ``pid``'s (a newer server's is kept)."""
    state = read_state(config)
    if state is not None and state.pid == pid:
        state_file(config).unlink(missing_ok=True)


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: the signal answered
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    target = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    try:
        with socket.create_connection((target, port), timeout=timeout):
            return True
    except OSError:
        return False


def running_server(config: ServeConfig) -> ServerState | None:
    """The server running for this port: its state file names a live process that accepts
    connections; a stale file (the process died) is removed."""
    state = read_state(config)
    if state is None:
        return None
    if not alive(state.pid):
        state_file(config).unlink(missing_ok=True)
        return None
    return state if port_open(state.host, state.port) else None


def stop_server(config: ServeConfig, timeout: float = 90.0) -> ServerState | None:
    """Ask the server of this port to stop (SIGTERM) and wait until its processes are gone;
    None when none runs."""
    state = read_state(config)
    if state is None or not alive(state.pid):
        state_file(config).unlink(missing_ok=True)
        return None
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(state.pid) and not alive(state.jvm_pid):
            state_file(config).unlink(missing_ok=True)
            return state
        time.sleep(0.2)
    raise ConfigError(
        f"the server on port {state.port} (pid {state.pid}) did not stop within "
        f"{timeout:.0f} s; stop it with `kill {state.pid}`"
    )
