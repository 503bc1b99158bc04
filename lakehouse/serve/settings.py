"""The ``[serve]`` section: where ``lakehouse serve`` listens and how often it looks for
new tables."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from lakehouse.errors import ConfigError

__all__ = ["LOOPBACK", "ServeConfig"]

LOOPBACK = "127.0.0.1"


def _check_port(value: int, what: str) -> None:
    if not 1 <= value <= 65535:
        raise ConfigError(f"serve.{what}: {value} must be a TCP port, 1 to 65535")


@dataclass(frozen=True)
class ServeConfig:
    """``host``: the address both endpoints bind (loopback unless configured: put
    authentication in front before binding anything else); ``port``: Spark Connect;
    ``jdbc_port``: the Thrift JDBC/ODBC server of ``--jdbc``; ``poll_seconds``: how often
    new tables and datasets are registered; ``state_dir``: where the state file of a running
    server is kept (empty: ``$XDG_STATE_HOME/lakehouse``, else ``~/.local/state/lakehouse``)."""

    host: str = LOOPBACK
    port: int = 15002
    jdbc_port: int = 10000
    poll_seconds: int = 10
    state_dir: str = ""

    def __post_init__(self) -> None:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            raise ConfigError(
                f"serve.host: {self.host!r} is not an IP address (e.g. 127.0.0.1, or "
                "0.0.0.0 for every interface)"
            ) from None
        _check_port(self.port, "port")
        _check_port(self.jdbc_port, "jdbc_port")
        if self.port == self.jdbc_port:
            raise ConfigError(f"serve.jdbc_port: {self.jdbc_port} is serve.port too; pick another")
        if not 1 <= self.poll_seconds <= 3600:
            raise ConfigError(f"serve.poll_seconds: {self.poll_seconds} must be 1 to 3600")

    @property
    def loopback(self) -> bool:
        return ipaddress.ip_address(self.host).is_loopback
