"""Access to the Pub/Sub Lite gRPC services (admin, cursors, topic stats, subscribe, publish)
through the low-level ``google.cloud.pubsublite_v1`` clients.

Production uses Application Default Credentials and ``{region}-pubsublite.googleapis.com:443``;
``insecure`` opens a plaintext channel without credentials, for a local fake only.
"""

from __future__ import annotations

import hashlib
import queue
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.cloud import pubsublite_v1 as v1
from google.cloud.pubsublite_v1.services.admin_service.transports import AdminServiceGrpcTransport
from google.cloud.pubsublite_v1.services.cursor_service.transports import (
    CursorServiceGrpcTransport,
)
from google.cloud.pubsublite_v1.services.publisher_service.transports import (
    PublisherServiceGrpcTransport,
)
from google.cloud.pubsublite_v1.services.subscriber_service.transports import (
    SubscriberServiceGrpcTransport,
)
from google.cloud.pubsublite_v1.services.topic_stats_service.transports import (
    TopicStatsServiceGrpcTransport,
)

from lakehouse.errors import ConfigError, SourceError

__all__ = [
    "PubSubLiteClient",
    "ReadRange",
    "default_endpoint",
    "partition_for_key",
]

_LOCATION = re.compile(r"^projects/[^/]+/locations/([^/]+)/")
_ZONE_SUFFIX = re.compile(r"-[a-z]$")
MAX_PUBLISH_BATCH = 1000  # messages per MessagePublishRequest
_DONE = object()


def default_endpoint(path: str) -> str:
    """The regional endpoint of a topic or subscription path (a zone's region for zonal ones)."""
    match = _LOCATION.match(path)
    if match is None:
        raise ConfigError(f"{path!r} is not a Pub/Sub Lite path: projects/P/locations/L/...")
    region = _ZONE_SUFFIX.sub("", match.group(1))
    return f"{region}-pubsublite.googleapis.com:443"


def partition_for_key(key: bytes, partitions: int) -> int:
    """Pub/Sub Lite's routing of a keyed message: SHA-256 of the key, big-endian, modulo the
    partition count. All messages of one key go to one partition, in order."""
    return int.from_bytes(hashlib.sha256(key).digest(), "big") % partitions


@dataclass(frozen=True)
class ReadRange:
    """Offsets ``[start, end)`` of one partition, with the flow control of its stream."""

    partition: int
    start: int
    end: int
    flow_messages: int = 1000
    flow_bytes: int = 10 * 1024 * 1024


class PubSubLiteClient:
    """The gapic clients of one endpoint, sharing one channel."""

    def __init__(self, endpoint: str, insecure: bool = False, timeout: float = 300.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        try:
            if insecure:
                self._channel: grpc.Channel | None = grpc.insecure_channel(endpoint)
                kwargs: dict[str, Any] = {}
                self.admin = v1.AdminServiceClient(
                    transport=AdminServiceGrpcTransport(channel=self._channel)
                )
                self.cursors = v1.CursorServiceClient(
                    transport=CursorServiceGrpcTransport(channel=self._channel)
                )
                self.stats = v1.TopicStatsServiceClient(
                    transport=TopicStatsServiceGrpcTransport(channel=self._channel)
                )
                self.subscriber = v1.SubscriberServiceClient(
                    transport=SubscriberServiceGrpcTransport(channel=self._channel)
                )
                self.publisher = v1.PublisherServiceClient(
                    transport=PublisherServiceGrpcTransport(channel=self._channel)
                )
            else:
                self._channel = None
                kwargs = {"client_options": {"api_endpoint": endpoint}}
                self.admin = v1.AdminServiceClient(**kwargs)
                self.cursors = v1.CursorServiceClient(**kwargs)
                self.stats = v1.TopicStatsServiceClient(**kwargs)
                self.subscriber = v1.SubscriberServiceClient(**kwargs)
                self.publisher = v1.PublisherServiceClient(**kwargs)
        except auth_exceptions.DefaultCredentialsError as exc:
            raise SourceError(
                f"Pub/Sub Lite at {endpoint}: no usable Application Default Credentials "
                f"({_first_line(exc)}); run 'gcloud auth application-default login' or set "
                "GOOGLE_APPLICATION_CREDENTIALS to a service account key file"
            ) from exc

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()

    # --- admin -------------------------------------------------------------------------

    def topic_of(self, subscription: str) -> str:
        """The topic a subscription reads; a clear error when it does not exist."""
        try:
            return str(self.admin.get_subscription(name=subscription, timeout=self.timeout).topic)
        except api_exceptions.NotFound as exc:
            raise SourceError(
                f"Pub/Sub Lite subscription {subscription!r} not found at {self.endpoint}; "
                "create it or fix source.pubsublite_subscription"
            ) from exc
        except api_exceptions.GoogleAPICallError as exc:
            raise SourceError(
                f"Pub/Sub Lite subscription {subscription!r} at {self.endpoint}: {exc.message}"
            ) from exc

    def partition_count(self, topic: str) -> int:
        response = self.admin.get_topic_partitions(name=topic, timeout=self.timeout)
        return int(response.partition_count)

    # --- offsets -----------------------------------------------------------------------

    def head_offsets(self, topic: str, partitions: int) -> dict[int, int]:
        """Per partition, the offset the next published message will get."""
        return {
            p: int(
                self.stats.compute_head_cursor(
                    request=v1.ComputeHeadCursorRequest(topic=topic, partition=p),
                    timeout=self.timeout,
                ).head_cursor.offset
            )
            for p in range(partitions)
        }

    def committed_offsets(self, subscription: str) -> dict[int, int]:
        """Per partition with a committed cursor, the offset of the next message to read."""
        pages = self.cursors.list_partition_cursors(parent=subscription, timeout=self.timeout)
        return {int(c.partition): int(c.cursor.offset) for c in pages}

    def commit(self, subscription: str, offsets: dict[int, int]) -> None:
        for partition, offset in sorted(offsets.items()):
            self.cursors.commit_cursor(
                request=v1.CommitCursorRequest(
                    subscription=subscription,
                    partition=partition,
                    cursor=v1.Cursor(offset=offset),
                ),
                timeout=self.timeout,
            )

    # --- reading -----------------------------------------------------------------------

    def read(self, subscription: str, rng: ReadRange) -> Iterator[v1.SequencedMessage]:
        """Messages of one partition with offsets in ``[start, end)``, in order.

        Opens a Subscribe stream seeking to ``start``, grants flow control, and closes the
        stream as soon as the message before ``end`` (or a later one) arrived. Offsets that
        retention already deleted are skipped by the service.
        """
        if rng.end <= rng.start:
            return
        requests: queue.Queue[object] = queue.Queue()
        requests.put(
            v1.SubscribeRequest(
                initial=v1.InitialSubscribeRequest(
                    subscription=subscription,
                    partition=rng.partition,
                    initial_location=v1.SeekRequest(cursor=v1.Cursor(offset=rng.start)),
                )
            )
        )
        wanted = rng.end - rng.start
        call = self.subscriber.subscribe(
            requests=_drain(requests),
            timeout=self.timeout,
            metadata=[
                (
                    "x-goog-request-params",
                    f"partition={rng.partition}&subscription={subscription}",
                )
            ],
        )
        try:
            for response in call:
                if "initial" in response:
                    requests.put(_flow(min(rng.flow_messages, wanted), rng.flow_bytes))
                    continue
                if "messages" not in response:
                    continue
                received, size = 0, 0
                for message in response.messages.messages:
                    received += 1
                    size += int(message.size_bytes)
                    offset = int(message.cursor.offset)
                    if offset >= rng.end:
                        return
                    if offset >= rng.start:
                        yield message
                    if offset >= rng.end - 1:
                        return
                requests.put(_flow(received, max(size, 1)))
        except api_exceptions.DeadlineExceeded as exc:
            raise SourceError(
                f"Pub/Sub Lite {subscription} partition {rng.partition}: offsets "
                f"[{rng.start}, {rng.end}) not delivered within {self.timeout:.0f}s"
            ) from exc
        finally:
            _close(requests, call)

    # --- publishing --------------------------------------------------------------------

    def publish(
        self, topic: str, partition: int, messages: Sequence[v1.PubSubMessage]
    ) -> list[int]:
        """Publish to one partition; returns the offset of each message."""
        if not messages:
            return []
        requests: queue.Queue[object] = queue.Queue()
        requests.put(
            v1.PublishRequest(
                initial_request=v1.InitialPublishRequest(topic=topic, partition=partition)
            )
        )
        batches = [
            list(messages[i : i + MAX_PUBLISH_BATCH])
            for i in range(0, len(messages), MAX_PUBLISH_BATCH)
        ]
        offsets: list[int] = []
        call = self.publisher.publish(
            requests=_drain(requests),
            timeout=self.timeout,
            metadata=[("x-goog-request-params", f"partition={partition}&topic={topic}")],
        )
        sent = 0
        try:
            for response in call:
                if "message_response" in response:
                    start = int(response.message_response.start_cursor.offset)
                    offsets.extend(range(start, start + len(batches[sent - 1])))
                if sent == len(batches):
                    break
                requests.put(
                    v1.PublishRequest(
                        message_publish_request=v1.MessagePublishRequest(messages=batches[sent])
                    )
                )
                sent += 1
        except api_exceptions.GoogleAPICallError as exc:
            raise SourceError(
                f"Pub/Sub Lite publish to {topic} partition {partition}: {exc.message}"
            ) from exc
        finally:
            _close(requests, call)
        return offsets


def _flow(messages: int, size: int) -> v1.SubscribeRequest:
    return v1.SubscribeRequest(
        flow_control=v1.FlowControlRequest(allowed_messages=messages, allowed_bytes=size)
    )


def _drain(requests: queue.Queue[object]) -> Iterator[Any]:
    while True:
        item = requests.get()
        if item is _DONE:
            return
        yield item


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _close(requests: queue.Queue[Any], call: Any) -> None:
    """End a bidirectional stream: no more requests, and cancel the call if still open."""
    requests.put(_DONE)
    cancel = getattr(call, "cancel", None)
    if cancel is not None:
        cancel()
