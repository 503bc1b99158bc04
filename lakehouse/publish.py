"""Send generated events of any dataset to Kafka, Pub/Sub Lite or Pub/Sub, for load tests,
demos and cutover drills.

Each message is keyed by the event's subject (the contract's erasure subject field, e.g. a
user id; no key when the line carries none, e.g. a malformed line): all events of a subject
land in one partition, in order, while subjects spread over partitions; on Pub/Sub the
subject is the ordering key. The line is sent byte for byte; the event time travels as
``event_ts`` (a Kafka header; a Pub/Sub Lite attribute and event time; a Pub/Sub attribute).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lakehouse.config import SourceConfig
from lakehouse.errors import ConfigError, SourceError
from lakehouse.generate.spec import GeneratedEvent

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "PUBLISH_TARGETS",
    "OutgoingMessage",
    "outgoing",
    "publish_kafka",
    "publish_pubsub",
    "publish_pubsublite",
]

PUBLISH_TARGETS = ("kafka", "pubsublite", "pubsub")


@dataclass(frozen=True)
class OutgoingMessage:
    """One event as a message: key, value, attributes (headers) and event time."""

    key: bytes | None
    value: bytes
    attributes: dict[str, str]
    event_ts: datetime | None


def outgoing(event: GeneratedEvent) -> OutgoingMessage:
    """The message that publishes one event (its line byte for byte), keyed by its subject,
    its event time as the ``event_ts`` attribute and the message's event time."""
    from lakehouse.generate.values import iso_timestamp

    attributes = {"producer": "lakehouse-publish"}
    if event.event_time is not None:
        attributes["event_ts"] = iso_timestamp(event.event_time)
    return OutgoingMessage(
        key=event.subject.encode() if event.subject else None,
        value=event.line,
        attributes=attributes,
        event_ts=event.event_time,
    )


def publish_kafka(
    spark: SparkSession, source: SourceConfig, events: Sequence[GeneratedEvent], topic: str
) -> int:
    """Send events to a Kafka topic with Spark's Kafka batch sink (the same connector, client
    and authentication settings as the reader); returns the number sent."""
    from pyspark.errors import PySparkException

    from lakehouse.sources.kafka import kafka_options

    rows = []
    for event in events:
        message = outgoing(event)
        headers = [(k, v.encode()) for k, v in sorted(message.attributes.items())]
        rows.append((topic, message.key, message.value, headers))
    df = spark.createDataFrame(
        rows,
        "topic string, key binary, value binary, headers array<struct<key:string,value:binary>>",
    )
    try:
        df.write.format("kafka").options(**kafka_options(source)).save()
    except PySparkException as exc:
        text = str(exc).strip()
        raise SourceError(
            f"publishing to Kafka topic {topic!r} failed: {text.splitlines()[0] if text else exc}"
        ) from exc
    return len(rows)


def publish_pubsublite(
    source: SourceConfig, events: Sequence[GeneratedEvent], topic: str | None = None
) -> dict[int, list[int]]:
    """Send events to a Pub/Sub Lite topic (default: the topic of the configured
    subscription), routed by key like Google's clients; returns the offsets per partition."""
    from google.cloud import pubsublite_v1 as v1

    from lakehouse.sources.pubsublite.client import PubSubLiteClient, partition_for_key
    from lakehouse.sources.pubsublite.source import pubsublite_options

    if topic is None and not source.pubsublite_subscription:
        raise ConfigError(
            "publish --to pubsublite: give --topic, or source.pubsublite_subscription "
            "to publish to its topic"
        )
    options = pubsublite_options(source) if source.pubsublite_subscription else None
    endpoint = options["endpoint"] if options else _topic_endpoint(source, topic)
    client = PubSubLiteClient(endpoint, source.pubsublite_insecure, 60.0)
    try:
        if topic is None:
            topic = client.topic_of(source.pubsublite_subscription)
        partitions = client.partition_count(topic)
        by_partition: dict[int, list[Any]] = defaultdict(list)
        unkeyed = 0
        for event in events:
            message = outgoing(event)
            if message.key is None:
                partition, unkeyed = unkeyed % partitions, unkeyed + 1
            else:
                partition = partition_for_key(message.key, partitions)
            by_partition[partition].append(
                v1.PubSubMessage(
                    key=message.key or b"",
                    data=message.value,
                    attributes={
                        k: v1.AttributeValues(values=[v.encode()])
                        for k, v in message.attributes.items()
                    },
                    event_time=message.event_ts,
                )
            )
        return {p: client.publish(topic, p, msgs) for p, msgs in sorted(by_partition.items())}
    finally:
        client.close()


def publish_pubsub(
    source: SourceConfig, events: Sequence[GeneratedEvent], topic: str | None = None
) -> list[str]:
    """Send events to a Pub/Sub topic (default: the topic of the configured subscription),
    the subject as the ordering key; returns the message ids, in order."""
    from google.pubsub_v1 import types as v1

    from lakehouse.sources.pubsub.client import DEFAULT_ENDPOINT, PubSubClient

    if topic is None and not source.pubsub_subscription:
        raise ConfigError(
            "publish --to pubsub: give --topic, or source.pubsub_subscription to publish to "
            "its topic"
        )
    client = PubSubClient(source.pubsub_endpoint or DEFAULT_ENDPOINT, source.pubsub_insecure)
    try:
        if topic is None:
            topic = str(client.subscription(source.pubsub_subscription).topic)
        messages = []
        for event in events:
            message = outgoing(event)
            messages.append(
                v1.PubsubMessage(
                    data=message.value,
                    attributes=message.attributes,
                    ordering_key=message.key.decode() if message.key else "",
                )
            )
        return client.publish(topic, messages)
    finally:
        client.close()


def _topic_endpoint(source: SourceConfig, topic: str | None) -> str:
    from lakehouse.sources.pubsublite.client import default_endpoint

    return source.pubsublite_endpoint or default_endpoint(str(topic))
