"""The event source chosen by ``[source] type``."""

from __future__ import annotations

from collections.abc import Callable

from lakehouse.config import SourceConfig
from lakehouse.errors import ConfigError
from lakehouse.sources.base import EventSource
from lakehouse.sources.kafka import KafkaSource
from lakehouse.sources.landing import LandingSource
from lakehouse.sources.pubsub.source import PubSubSource
from lakehouse.sources.pubsublite.source import PubSubLiteSource

__all__ = ["SOURCES", "source_for"]

SOURCES: dict[str, Callable[[SourceConfig], EventSource]] = {
    "landing": LandingSource,
    "kafka": KafkaSource,
    "pubsublite": PubSubLiteSource,
    "pubsub": PubSubSource,
}


def source_for(config: SourceConfig) -> EventSource:
    """Build the configured source; a setting it needs and does not have is a ConfigError."""
    if config.type not in SOURCES:
        raise ConfigError(
            f"source.type: {config.type!r} is not valid; choose one of {', '.join(SOURCES)}"
        )
    return SOURCES[config.type](config)
