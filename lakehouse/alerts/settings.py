"""The ``[alerts]`` section: where messages go and how hard delivery tries.

Secrets never live in the TOML: a destination names the environment variable that holds
its webhook URL (``url_env``) or SMTP password (``password_env``); they are read when a
message is sent. Plain Python (imported by :mod:`lakehouse.config`; no Spark, no config)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lakehouse.errors import ConfigError

__all__ = ["DESTINATION_TYPES", "AlertsConfig", "Destination", "parse_destinations"]

DESTINATION_TYPES = ("slack", "webhook", "smtp")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_SECRET_KEYS = {"url": "url_env", "password": "password_env", "webhook_url": "url_env"}


@dataclass(frozen=True)
class Destination:
    """One place messages go: a Slack-compatible incoming webhook (``slack``), a generic
    JSON webhook (``webhook``) or e-mail over SMTP (``smtp``, STARTTLS and login optional)."""

    name: str
    type: str
    url_env: str = ""  # slack, webhook: the variable holding the URL
    host: str = ""  # smtp
    port: int = 25
    starttls: bool = False
    username: str = ""
    password_env: str = ""  # the variable holding the SMTP password (login when set)
    sender: str = ""
    to: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f"alerts.destinations[{self.name or '?'}]"
        if not _NAME.match(self.name):
            raise ConfigError(
                f"{where}.name: {self.name!r} must be letters, digits, '_', '.', '-' "
                "(it names the destination in ops.notifications)"
            )
        if self.type not in DESTINATION_TYPES:
            raise ConfigError(
                f"{where}.type: {self.type!r} is not valid; choose one of "
                f"{', '.join(DESTINATION_TYPES)}"
            )
        for key in ("url_env", "password_env"):
            value = getattr(self, key)
            if value and not _ENV_NAME.match(value):
                raise ConfigError(f"{where}.{key}: {value!r} is not an environment variable name")
        if self.type in ("slack", "webhook") and not self.url_env:
            raise ConfigError(
                f"{where}.url_env: a {self.type} destination needs the name of the "
                "environment variable that holds its URL"
            )
        if self.type == "smtp":
            if not self.host or not self.sender or not self.to:
                raise ConfigError(
                    f"{where}: an smtp destination needs host, sender and to (a list of addresses)"
                )
            if not 1 <= self.port <= 65535:
                raise ConfigError(f"{where}.port: {self.port} must be 1 to 65535")
            if self.password_env and not self.username:
                raise ConfigError(f"{where}: password_env without username; set both to log in")

    def secret(self, env: Mapping[str, str] | None = None) -> str:
        """The URL (webhooks) or password (smtp; empty: no login) from the environment;
        :class:`ConfigError` naming the variable when it is not set."""
        env = os.environ if env is None else env
        name = self.url_env if self.type in ("slack", "webhook") else self.password_env
        if not name:
            return ""
        value = env.get(name, "")
        if not value:
            raise ConfigError(
                f"alerts destination {self.name!r}: environment variable {name} is not set"
            )
        return value


@dataclass(frozen=True)
class AlertsConfig:
    """Who hears about critical findings, blocked batches, stalled and failed streams.

    Each message is tried ``attempts`` times ``timeout_seconds`` each, waiting
    ``backoff_seconds`` then twice as long...; a message that failed ``max_deliveries``
    passes is given up. A destination takes at most ``rate_limit`` messages per
    ``rate_window_minutes``; the others wait for a later pass."""

    enabled: bool = True
    destinations: tuple[Destination, ...] = ()
    attempts: int = 3
    backoff_seconds: int = 1
    timeout_seconds: int = 10
    max_deliveries: int = 5
    rate_limit: int = 20
    rate_window_minutes: int = 60
    # a stream's silence alerts at this stall severity (the table's stall thresholds)
    stall_severity: str = "critical"
    # what a message tells to run: the CLI as the reader would type it
    command: str = "lakehouse"

    def __post_init__(self) -> None:
        checks = {
            "attempts": (1, 10),
            "backoff_seconds": (0, 300),
            "timeout_seconds": (1, 300),
            "max_deliveries": (1, 1000),
            "rate_limit": (1, 100_000),
            "rate_window_minutes": (1, 7 * 24 * 60),
        }
        for key, (low, high) in checks.items():
            value = getattr(self, key)
            if not low <= value <= high:
                raise ConfigError(f"alerts.{key}: {value} must be {low} to {high}")
        if self.stall_severity not in ("warning", "critical"):
            raise ConfigError(
                f"alerts.stall_severity: {self.stall_severity!r} is not valid; choose one of "
                "warning, critical"
            )
        names = [d.name for d in self.destinations]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(f"alerts.destinations: name(s) {', '.join(twice)} used twice")

    @property
    def active(self) -> bool:
        return self.enabled and bool(self.destinations)


_DEST_FIELDS = {f for f in Destination.__dataclass_fields__}
_INTS = {"port"}
_BOOLS = {"starttls"}


def _destination(raw: Any, where: str) -> Destination:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: {raw!r} must be a table ([[alerts.destinations]])")
    secrets = sorted(k for k in raw if k in _SECRET_KEYS)
    if secrets:
        raise ConfigError(
            f"{where}: {', '.join(secrets)} must not be written in the configuration; put it "
            f"in an environment variable and name it with {_SECRET_KEYS[secrets[0]]}"
        )
    unknown = sorted(set(raw) - _DEST_FIELDS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(repr(k) for k in unknown)}; valid keys are "
            f"{', '.join(sorted(_DEST_FIELDS))}"
        )
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "to":
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
                raise ConfigError(f"{where}.to: {value!r} must be a list of e-mail addresses")
            values[key] = tuple(items)
        elif key in _INTS:
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"{where}.{key}: {value!r} is not a whole number")
            values[key] = value
        elif key in _BOOLS:
            if not isinstance(value, bool):
                raise ConfigError(f"{where}.{key}: {value!r} is not a boolean; write true or false")
            values[key] = value
        elif not isinstance(value, str):
            raise ConfigError(f"{where}.{key}: {value!r} must be a string")
        else:
            values[key] = value
    if "name" not in values or "type" not in values:
        raise ConfigError(f"{where}: a destination needs a name and a type")
    return Destination(**values)


def parse_destinations(value: Any, where: str) -> tuple[Destination, ...]:
    """``[[alerts.destinations]]`` tables as :class:`Destination` values."""
    if not isinstance(value, list):
        raise ConfigError(
            f"{where}: {value!r} must be a list of tables ([[alerts.destinations]] in TOML)"
        )
    return tuple(_destination(item, f"alerts.destinations[{n}]") for n, item in enumerate(value))
