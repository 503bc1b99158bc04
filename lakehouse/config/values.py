"""Values of the configuration: durations, sizes, choices and the names the settings take."""

from __future__ import annotations

import re

from lakehouse.errors import ConfigError

__all__ = ["choice", "is_remote", "parse_duration", "parse_size"]

CONFIG_ENV_VAR = "LAKEHOUSE_CONFIG"
ENV_PREFIX = "LAKEHOUSE_"

SOURCE_TYPES = ("landing", "kafka", "pubsublite", "pubsub")
KAFKA_STARTING_OFFSETS = ("earliest", "latest")
KAFKA_AUTH = ("none", "managed-kafka")
TRIGGER_MODES = ("available-now", "processing-time")
SPARK_MODES = ("local", "dataproc")
CATALOGS = ("in-memory", "hive")
QUALITY_ENGINES = ("fast", "great_expectations")

_CLUSTER_RE = re.compile(r"^projects/[^/\s]+/locations/[^/\s]+/clusters/[^/\s]+$")
_SUBSCRIPTION_RE = re.compile(r"^projects/[^/\s]+/locations/[^/\s]+/subscriptions/[^/\s]+$")
_PUBSUB_SUBSCRIPTION_RE = re.compile(r"^projects/[^/\s]+/subscriptions/[^/\s]+$")
_DURATION_RE = re.compile(
    r"^\s*(\d+)\s*(second|seconds|sec|s|minute|minutes|min|m|hour|hours|h|day|days|d)\s*$"
)
_UNIT_SECONDS = {
    "second": 1,
    "seconds": 1,
    "sec": 1,
    "s": 1,
    "minute": 60,
    "minutes": 60,
    "min": 60,
    "m": 60,
    "hour": 3600,
    "hours": 3600,
    "h": 3600,
    "day": 86400,
    "days": 86400,
    "d": 86400,
}


def parse_duration(value: str, what: str) -> int:
    """Return the number of seconds in a duration such as ``"10 seconds"`` or ``"48 hours"``."""
    match = _DURATION_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(
            f"{what}: {value!r} is not a duration; write a whole number and a unit, "
            "e.g. '30 seconds', '5 minutes', '48 hours', '7 days'"
        )
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


_SIZE_RE = re.compile(r"^([0-9]+)\s*(b|k|kb|m|mb|g|gb|t|tb)?$", re.IGNORECASE)


def parse_size(value: str, what: str) -> str:
    """A size such as ``"128m"`` or ``"1 GB"`` in the form Spark options take (``"128m"``)."""
    match = _SIZE_RE.match(value.strip()) if isinstance(value, str) else None
    if match is None or int(match.group(1)) == 0:
        raise ConfigError(
            f"{what}: {value!r} is not a size; write a whole number above 0 and a unit "
            "(b, k, m, g or t), e.g. '64m', '1g'"
        )
    unit = (match.group(2) or "b").lower()[0]
    return f"{int(match.group(1))}{unit}"


def is_remote(path: str) -> bool:
    return "://" in path


def choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise ConfigError(f"{what}: {value!r} is not valid; choose one of {', '.join(choices)}")
