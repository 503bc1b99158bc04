"""Access to the Pub/Sub gRPC services (Subscriber: get, pull, modify ack deadline,
acknowledge; Publisher: publish) through the low-level ``google.pubsub_v1`` gapic clients.

Production uses Application Default Credentials and ``pubsub.googleapis.com:443``;
``insecure`` opens a plaintext channel without credentials, for a local fake only.

On a subscription with exactly-once delivery, Acknowledge and ModifyAckDeadline report each
ack id that failed in the error's ``google.rpc.ErrorInfo`` metadata (``ack id -> reason``):
``TRANSIENT_*`` reasons are retried, others (``PERMANENT_FAILURE_INVALID_ACK_ID``: the lease
had expired, the message is or will be delivered again) are counted, never raised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.pubsub_v1 import PublisherClient, SubscriberClient
from google.pubsub_v1 import types as v1
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from lakehouse.errors import SourceError

__all__ = [
    "DEFAULT_ENDPOINT",
    "AckResult",
    "PubSubClient",
    "ack_errors",
]

DEFAULT_ENDPOINT = "pubsub.googleapis.com:443"
MAX_PULL = 1000  # messages per Pull response, the service's maximum
MAX_ACK_IDS = 1000  # ack ids per Acknowledge / ModifyAckDeadline request
MAX_PUBLISH = 1000  # messages per Publish request
_RETRIES = 3


@dataclass(frozen=True)
class AckResult:
    """The outcome of acknowledging (or extending) ack ids: done, refused for good with the
    reason per ack id (exactly-once delivery), or not reachable at all."""

    done: int = 0
    refused: tuple[tuple[str, str], ...] = ()
    unreachable: int = 0
    error: str = ""

    def __add__(self, other: AckResult) -> AckResult:
        return AckResult(
            self.done + other.done,
            self.refused + other.refused,
            self.unreachable + other.unreachable,
            self.error or other.error,
        )


def ack_errors(exc: api_exceptions.GoogleAPICallError) -> dict[str, str] | None:
    """The failed ack ids of an exactly-once Acknowledge / ModifyAckDeadline (ErrorInfo
    metadata), or None when the error carries none (the whole call failed)."""
    response = exc.response
    if response is None:
        return None
    try:
        status = rpc_status.from_call(response)
    except ValueError:
        return None
    if status is None:
        return None
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) and detail.Unpack(info):
            return dict(info.metadata)
    return None


class PubSubClient:
    """The Subscriber and Publisher gapic clients of one endpoint, sharing one channel."""

    def __init__(
        self, endpoint: str = DEFAULT_ENDPOINT, insecure: bool = False, timeout: float = 60.0
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        try:
            if insecure:
                self._channel: grpc.Channel | None = grpc.insecure_channel(endpoint)
                self.subscriber = SubscriberClient(
                    transport=SubscriberGrpcTransport(channel=self._channel)
                )
                self.publisher = PublisherClient(
                    transport=PublisherGrpcTransport(channel=self._channel)
                )
            else:
                self._channel = None
                options: dict[str, Any] = {"client_options": {"api_endpoint": endpoint}}
                self.subscriber = SubscriberClient(**options)
                self.publisher = PublisherClient(**options)
        except auth_exceptions.DefaultCredentialsError as exc:
            text = str(exc).strip().splitlines()
            raise SourceError(
                f"Pub/Sub at {endpoint}: no usable Application Default Credentials "
                f"({text[0] if text else type(exc).__name__}); run 'gcloud auth "
                "application-default login' or set GOOGLE_APPLICATION_CREDENTIALS"
            ) from exc

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()

    def subscription(self, name: str) -> v1.Subscription:
        """The subscription; a clear error when it does not exist or cannot be read."""
        try:
            return self.subscriber.get_subscription(subscription=name, timeout=self.timeout)
        except api_exceptions.NotFound as exc:
            raise SourceError(
                f"Pub/Sub subscription {name!r} not found at {self.endpoint}; create it or fix "
                "source.pubsub_subscription"
            ) from exc
        except api_exceptions.GoogleAPICallError as exc:
            raise SourceError(
                f"Pub/Sub subscription {name!r} at {self.endpoint}: {exc.message}"
            ) from exc

    def pull(self, subscription: str, max_messages: int, timeout: float) -> list[Any]:
        """Up to ``max_messages`` (at most 1000) received messages; none when the service had
        none within ``timeout`` seconds."""
        try:
            response = self.subscriber.pull(
                request=v1.PullRequest(
                    subscription=subscription, max_messages=min(max_messages, MAX_PULL)
                ),
                timeout=timeout,
                retry=None,
            )
        except api_exceptions.DeadlineExceeded:
            return []
        except api_exceptions.GoogleAPICallError as exc:
            raise SourceError(
                f"Pub/Sub pull from {subscription} at {self.endpoint}: {exc.message}"
            ) from exc
        return list(response.received_messages)

    def acknowledge(self, subscription: str, ack_ids: Sequence[str]) -> AckResult:
        """Acknowledge, in requests of 1000 ids; per-id failures are counted, not raised."""
        return self._each_chunk(
            ack_ids,
            lambda ids: self.subscriber.acknowledge(
                subscription=subscription, ack_ids=ids, timeout=self.timeout, retry=None
            ),
        )

    def modify_ack_deadline(
        self, subscription: str, ack_ids: Sequence[str], seconds: int
    ) -> AckResult:
        """Extend the lease of ack ids by ``seconds`` (0 = nack: deliver them again soon)."""
        return self._each_chunk(
            ack_ids,
            lambda ids: self.subscriber.modify_ack_deadline(
                subscription=subscription,
                ack_ids=ids,
                ack_deadline_seconds=seconds,
                timeout=self.timeout,
                retry=None,
            ),
        )

    def _each_chunk(self, ack_ids: Sequence[str], call: Any) -> AckResult:
        result = AckResult()
        for chunk in _chunks(ack_ids, MAX_ACK_IDS):
            result += _with_retries(list(chunk), call)
        return result

    def publish(self, topic: str, messages: Sequence[v1.PubsubMessage]) -> list[str]:
        """Publish in requests of 1000 messages; returns the message ids, in order."""
        ids: list[str] = []
        try:
            for chunk in _chunks(messages, MAX_PUBLISH):
                response = self.publisher.publish(
                    topic=topic, messages=list(chunk), timeout=self.timeout
                )
                ids.extend(response.message_ids)
        except api_exceptions.GoogleAPICallError as exc:
            raise SourceError(f"Pub/Sub publish to {topic}: {exc.message}") from exc
        return ids


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _with_retries(ack_ids: list[str], call: Any) -> AckResult:
    """One Acknowledge / ModifyAckDeadline with its transient per-id failures retried."""
    pending, result = ack_ids, AckResult()
    for attempt in range(_RETRIES):
        if not pending:
            break
        try:
            call(pending)
        except api_exceptions.GoogleAPICallError as exc:
            errors = ack_errors(exc)
            if errors is None:
                if attempt == _RETRIES - 1 or not isinstance(
                    exc, api_exceptions.ServiceUnavailable | api_exceptions.DeadlineExceeded
                ):
                    return result + AckResult(unreachable=len(pending), error=str(exc.message))
                continue
            failed = [a for a in pending if a in errors]
            result += AckResult(done=len(pending) - len(failed))
            permanent = tuple((a, errors[a]) for a in failed if not errors[a].startswith("TRANS"))
            result += AckResult(refused=permanent)
            pending = [a for a in failed if errors[a].startswith("TRANS")]
            continue
        return result + AckResult(done=len(pending))
    return result + AckResult(unreachable=len(pending), error="transient failures persisted")
