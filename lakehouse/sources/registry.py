"""The event source chosen by ``[source] type``."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from lakehouse.errors import ConfigError

if TYPE_CHECKING:
    from lakehouse.config import SourceConfig
    from lakehouse.sources.base import EventSource

__all__ = ["SOURCES", "source_for"]

# type -> (module, class): a source's module is imported only when it is chosen (the Google
# clients of the Pub/Sub sources take about a second to import, which a landing or Kafka
# job would pay at every start)
SOURCES: dict[str, tuple[str, str]] = {
    "landing": ("lakehouse.sources.landing", "LandingSource"),
    "kafka": ("lakehouse.sources.kafka", "KafkaSource"),
    "pubsublite": ("lakehouse.sources.pubsublite.source", "PubSubLiteSource"),
    "pubsub": ("lakehouse.sources.pubsub.source", "PubSubSource"),
}


def source_for(config: SourceConfig) -> EventSource:
    """Build the configured source; a setting it needs and does not have is a ConfigError."""
    if config.type not in SOURCES:
        raise ConfigError(
            f"source.type: {config.type!r} is not valid; choose one of {', '.join(SOURCES)}"
        )
    module, name = SOURCES[config.type]
    source: EventSource = getattr(import_module(module), name)(config)
    return source
