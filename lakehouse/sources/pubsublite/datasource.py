"""Pub/Sub Lite as a Spark 4 Python streaming data source (``format("pubsublite")``).

Google's connector (``com.google.cloud:pubsublite-spark-sql-streaming``) is built for Scala
2.12 / Spark 3.5 only. This source gives Spark 4 the same columns over the same gRPC API:

* offsets are ``{"<partition>": <next offset>}``; the initial offsets are the subscription's
  committed cursors (0 where none), the latest are the topic's head cursors;
* each micro-batch reads exact ranges: one Spark partition per Pub/Sub Lite partition with
  new messages, which seeks its Subscribe stream to the start offset and reads up to the end
  offset, with flow control;
* after Spark committed a batch, the end offsets are committed as the subscription's
  cursors (monitoring, and the start of a new checkpoint);
* ``maxMessagesPerPartition`` caps the messages per partition and micro-batch. Spark 4.1 asks
  a Python source for its latest offset without a read limit, so the cap is applied here,
  from the end of the previous batch (after a restart: from the committed cursors). Under
  ``Trigger.AvailableNow`` Spark asks once, so a run with a cap stops after one batch.

Options: ``subscription`` (projects/P/locations/L/subscriptions/S), ``endpoint`` (default
``{region}-pubsublite.googleapis.com:443``), ``insecure`` (plaintext, no credentials: local
fakes only), ``maxMessagesPerPartition`` (0 = no cap), ``flowControlMessages``,
``flowControlBytes``, ``timeoutSeconds`` (per gRPC call and per partition read).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.types import StructType

from lakehouse.sources.pubsublite.client import PubSubLiteClient, ReadRange, default_endpoint

__all__ = ["PUBSUBLITE_SCHEMA", "OffsetRange", "PubSubLiteDataSource", "PubSubLiteStreamReader"]

# The columns of Google's Spark connector, in its order.
PUBSUBLITE_SCHEMA = (
    "subscription string, partition long, offset long, key binary, data binary, "
    "publish_timestamp timestamp, event_timestamp timestamp, "
    "attributes map<string, array<binary>>"
)


@dataclass(frozen=True)
class OffsetRange(InputPartition):
    """The offsets ``[start, end)`` one Spark task reads from one Pub/Sub Lite partition."""

    partition: int
    start: int
    end: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", self.partition)


def _utc(ts: Any) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts.timestamp(), UTC)


class PubSubLiteStreamReader(DataSourceStreamReader):
    """Plans exact offset ranges on the driver; reads them in the Python workers."""

    def __init__(self, given: dict[str, str]) -> None:
        options = {k.lower(): v for k, v in given.items()}  # Spark may lower-case the keys
        self.subscription = options["subscription"]
        self.endpoint = options.get("endpoint") or default_endpoint(self.subscription)
        self.insecure = options.get("insecure", "false").lower() == "true"
        self.max_per_partition = int(options.get("maxmessagesperpartition", "0"))
        self.flow_messages = int(options.get("flowcontrolmessages", "1000"))
        self.flow_bytes = int(options.get("flowcontrolbytes", str(10 * 1024 * 1024)))
        self.timeout = float(options.get("timeoutseconds", "300"))
        self._client: PubSubLiteClient | None = None
        self._topic: str | None = None
        self._base: dict[int, int] | None = None  # end of the last planned batch

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"] = None  # a gRPC channel does not travel to the workers
        return state

    def _connect(self) -> PubSubLiteClient:
        if self._client is None:
            self._client = PubSubLiteClient(self.endpoint, self.insecure, self.timeout)
        return self._client

    def _partitions(self) -> tuple[str, int]:
        client = self._connect()
        if self._topic is None:
            self._topic = client.topic_of(self.subscription)
        return self._topic, client.partition_count(self._topic)

    def _committed(self) -> dict[int, int]:
        _, count = self._partitions()
        committed = self._connect().committed_offsets(self.subscription)
        return {p: committed.get(p, 0) for p in range(count)}

    def initialOffset(self) -> dict[str, int]:
        self._base = self._committed()
        return {str(p): o for p, o in self._base.items()}

    def latestOffset(self) -> dict[str, int]:
        topic, count = self._partitions()
        head = self._connect().head_offsets(topic, count)
        if self.max_per_partition:
            base = self._base if self._base is not None else self._committed()
            head = {
                p: max(base.get(p, 0), min(h, base.get(p, 0) + self.max_per_partition))
                for p, h in head.items()
            }
        return {str(p): o for p, o in head.items()}

    def partitions(self, start: dict[str, int], end: dict[str, int]) -> Sequence[OffsetRange]:
        self._base = {int(p): int(o) for p, o in end.items()}
        ranges = [OffsetRange(int(p), int(start.get(p, 0)), int(o)) for p, o in end.items()]
        return [r for r in sorted(ranges, key=lambda r: r.partition) if r.end > r.start]

    def read(self, partition: InputPartition) -> Iterator[tuple[Any, ...]]:
        if not isinstance(partition, OffsetRange):
            raise TypeError(f"not a Pub/Sub Lite offset range: {partition!r}")
        client = PubSubLiteClient(self.endpoint, self.insecure, self.timeout)
        rng = ReadRange(
            partition.partition, partition.start, partition.end, self.flow_messages, self.flow_bytes
        )
        try:
            for sequenced in client.read(self.subscription, rng):
                message = sequenced.message
                yield (
                    self.subscription,
                    partition.partition,
                    int(sequenced.cursor.offset),
                    bytes(message.key),
                    bytes(message.data),
                    _utc(sequenced.publish_time),
                    _utc(message.event_time) if "event_time" in message else None,
                    {k: [bytes(v) for v in vs.values] for k, vs in message.attributes.items()},
                )
        finally:
            client.close()

    def commit(self, end: dict[str, int]) -> None:
        self._connect().commit(self.subscription, {int(p): int(o) for p, o in end.items()})

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class PubSubLiteDataSource(DataSource):
    """``spark.readStream.format("pubsublite").option("subscription", ...).load()``."""

    @classmethod
    def name(cls) -> str:
        return "pubsublite"

    def schema(self) -> str:
        return PUBSUBLITE_SCHEMA

    def streamReader(self, schema: StructType) -> PubSubLiteStreamReader:
        return PubSubLiteStreamReader(dict(self.options))
