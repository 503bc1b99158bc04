"""Pub/Sub as a Spark 4 Python streaming data source (``format("pubsub")``).

Pub/Sub has no offsets: a subscription hands out messages under a lease (the ack deadline)
until they are acknowledged. The source gives Spark offsets of its own:

* the planner (one Python process per query, on the driver) pulls messages when Spark asks
  for the latest offset, at most ``maxMessagesPerBatch`` messages and about
  ``maxBytesPerBatch`` bytes, until a pull comes back empty; it numbers them in the order
  received: the offset is ``{"seq": <next number>}``, and a message's number is the
  ``seq`` column (unique per delivery: numbering starts at the reader's start time in
  microseconds, and never goes below an offset Spark passed in; the initial offset is that
  start, whatever was pulled: under ``Trigger.AvailableNow`` Spark asks for the latest
  offset before the initial one);
* the messages travel to the Spark tasks inside the input partitions: a task retry reads
  the same rows, nothing is pulled on an executor;
* the planner extends the lease of every message it holds (every third of
  ``ackDeadlineSeconds``) until Spark commits the batch or the query stops. It never
  acknowledges: the bronze job does, after the batch is in ``bronze.events`` (the ``ack_id``
  column), because Spark commits a Python source only when it plans the next batch, never
  for the last batch of an ``--available-now`` run;
* a batch Spark plans again after a restart (its offsets logged, not committed) is empty:
  its messages were never acknowledged and come again, as new deliveries;
* a message bigger than ``maxMessageBytes`` is nacked at once, never held: after the
  subscription's ``max_delivery_attempts`` Pub/Sub moves it to the dead-letter topic.

Options: ``subscription`` (projects/P/subscriptions/S), ``endpoint`` (default
pubsub.googleapis.com:443), ``insecure`` (plaintext, no credentials: local fakes only),
``maxMessagesPerBatch``, ``maxBytesPerBatch``, ``ackDeadlineSeconds``,
``pullTimeoutSeconds``, ``maxMessageBytes``, ``timeoutSeconds`` (per gRPC call).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.types import StructType

from lakehouse.sources.pubsub.client import DEFAULT_ENDPOINT, PubSubClient

__all__ = ["PUBSUB_SCHEMA", "MessageBatch", "PubSubDataSource", "PubSubStreamReader"]

PUBSUB_SCHEMA = (
    "subscription string, message_id string, seq long, ordering_key string, data binary, "
    "attributes map<string, string>, publish_time timestamp, delivery_attempt int, "
    "ack_id string"
)
ROWS_PER_PARTITION = 2000

Row = tuple[Any, ...]


@dataclass(frozen=True)
class MessageBatch(InputPartition):
    """The rows (:data:`PUBSUB_SCHEMA`) one Spark task returns."""

    rows: tuple[Row, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", len(self.rows))


@dataclass
class _Held:
    row: Row
    ack_id: str
    planned: bool = False


def _utc(ts: Any) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts.timestamp(), UTC)


def message_size(message: Any) -> int:
    """Bytes of a message as Pub/Sub counts them: data, attributes, ordering key."""
    attributes = sum(len(k) + len(v) for k, v in message.attributes.items())
    return len(message.data) + attributes + len(message.ordering_key)


class PubSubStreamReader(DataSourceStreamReader):
    """Pulls on the driver, holds the leases, hands the messages to Spark in the partitions."""

    def __init__(self, given: dict[str, str]) -> None:
        options = {k.lower(): v for k, v in given.items()}  # Spark may lower-case the keys
        self.subscription = options["subscription"]
        self.endpoint = options.get("endpoint") or DEFAULT_ENDPOINT
        self.insecure = options.get("insecure", "false").lower() == "true"
        self.max_messages = int(options.get("maxmessagesperbatch", "10000"))
        self.max_bytes = int(options.get("maxbytesperbatch", str(64 * 1024 * 1024)))
        self.deadline = int(options.get("ackdeadlineseconds", "60"))
        self.pull_timeout = float(options.get("pulltimeoutseconds", "5"))
        self.max_message_bytes = int(options.get("maxmessagebytes", str(1024 * 1024)))
        self.timeout = float(options.get("timeoutseconds", "60"))
        self._next_seq = time.time_ns() // 1000
        self._origin = self._next_seq  # where a new checkpoint starts
        self._held: dict[int, _Held] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._client: PubSubClient | None = None
        self._lease: threading.Thread | None = None

    def __getstate__(self) -> dict[str, Any]:
        # what travels to the workers: the settings, never the leases or the channel
        keep = ("subscription", "endpoint", "insecure", "timeout")
        return {k: v for k, v in self.__dict__.items() if k in keep}

    def _connect(self) -> PubSubClient:
        if self._client is None:
            self._client = PubSubClient(self.endpoint, self.insecure, self.timeout)
        return self._client

    # --- offsets -----------------------------------------------------------------------

    def initialOffset(self) -> dict[str, int]:
        return {"seq": self._origin}

    def latestOffset(self) -> dict[str, int]:
        client = self._connect()
        with self._lock:
            waiting = [h for h in self._held.values() if not h.planned]
        count, size = len(waiting), sum(len(h.row[4]) for h in waiting)
        while count < self.max_messages and size < self.max_bytes:
            received = client.pull(self.subscription, self.max_messages - count, self.pull_timeout)
            if not received:
                break
            kept, refused = [], []
            with self._lock:
                for r in received:
                    if message_size(r.message) > self.max_message_bytes:
                        refused.append(r.ack_id)
                        continue
                    seq, self._next_seq = self._next_seq, self._next_seq + 1
                    self._held[seq] = _Held(self._row(seq, r), r.ack_id)
                    kept.append(r.ack_id)
                    count, size = count + 1, size + len(r.message.data)
            if kept:
                client.modify_ack_deadline(self.subscription, kept, self.deadline)
            if refused:
                client.modify_ack_deadline(self.subscription, refused, 0)
                sys.stderr.write(
                    f"lakehouse: Pub/Sub {self.subscription}: nacked {len(refused)} message(s) "
                    f"over {self.max_message_bytes} bytes (they go to the dead-letter topic "
                    "after the subscription's max delivery attempts)\n"
                )
            if not kept:  # only refused ones: they may come straight back, pull no more now
                break
        self._start_lease()
        return {"seq": self._next_seq}

    def _row(self, seq: int, received: Any) -> Row:
        m = received.message
        return (
            self.subscription,
            str(m.message_id),
            seq,
            str(m.ordering_key),
            bytes(m.data),
            dict(m.attributes),
            _utc(m.publish_time) if "publish_time" in m else None,
            int(received.delivery_attempt),
            str(received.ack_id),
        )

    def partitions(self, start: dict[str, int], end: dict[str, int]) -> Sequence[MessageBatch]:
        first, stop = int(start.get("seq", 0)), int(end["seq"])
        with self._lock:
            self._next_seq = max(self._next_seq, stop)
            # after a restart the reader holds nothing of an earlier process's batch: it is
            # empty, its messages come again
            rows = []
            for seq in sorted(self._held):
                held = self._held[seq]
                if first <= seq < stop and not held.planned:
                    held.planned = True
                    rows.append(held.row)
        return [
            MessageBatch(tuple(rows[i : i + ROWS_PER_PARTITION]))
            for i in range(0, len(rows), ROWS_PER_PARTITION)
        ]

    def read(self, partition: InputPartition) -> Iterator[Row]:
        if not isinstance(partition, MessageBatch):
            raise TypeError(f"not a Pub/Sub message batch: {partition!r}")
        yield from partition.rows

    def commit(self, end: dict[str, int]) -> None:
        """Spark committed the batches up to ``end``: the bronze job acknowledged their
        messages, the leases end here."""
        stop = int(end["seq"])
        with self._lock:
            done = [seq for seq in self._held if seq < stop]
            stray = [self._held[s].ack_id for s in done if not self._held[s].planned]
            for seq in done:
                del self._held[seq]
        if stray:
            self._connect().modify_ack_deadline(self.subscription, stray, 0)

    def stop(self) -> None:
        """End the leases; messages pulled but never planned into a batch are nacked."""
        self._stopped.set()
        if self._lease is not None:
            self._lease.join(timeout=self.timeout)
        with self._lock:
            unplanned = [h.ack_id for h in self._held.values() if not h.planned]
            self._held.clear()
        if self._client is not None:
            if unplanned:
                self._client.modify_ack_deadline(self.subscription, unplanned, 0)
            self._client.close()
            self._client = None

    # --- leases ------------------------------------------------------------------------

    def _start_lease(self) -> None:
        if self._lease is None:
            self._lease = threading.Thread(target=self._extend, name="pubsub-lease", daemon=True)
            self._lease.start()

    def _extend(self) -> None:
        while not self._stopped.wait(max(1.0, self.deadline / 3)):
            with self._lock:
                ack_ids = [h.ack_id for h in self._held.values()]
            client = self._client
            if ack_ids and client is not None:
                # an id the bronze job acknowledged meanwhile is refused: nothing to extend
                client.modify_ack_deadline(self.subscription, ack_ids, self.deadline)


class PubSubDataSource(DataSource):
    """``spark.readStream.format("pubsub").option("subscription", ...).load()``."""

    @classmethod
    def name(cls) -> str:
        return "pubsub"

    def schema(self) -> str:
        return PUBSUB_SCHEMA

    def streamReader(self, schema: StructType) -> PubSubStreamReader:
        return PubSubStreamReader(dict(self.options))
