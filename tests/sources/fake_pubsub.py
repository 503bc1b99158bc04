"""An in-process fake of the Pub/Sub gRPC services, served on 127.0.0.1 over a real gRPC
channel: Publisher (GetTopic, Publish) and Subscriber (GetSubscription, Pull,
ModifyAckDeadline, Acknowledge).

What it models of the service: every subscription of a topic gets every message; a pulled
message is leased to one ack id until its ack deadline passes, a nack (deadline 0) or an
ack; an expired or nacked message is delivered again with a new ack id; with a dead-letter
policy a delivery carries its attempt number, and a message already delivered
``max_delivery_attempts`` times is forwarded to the dead-letter topic instead; with
exactly-once delivery an ack or deadline change of an ack id whose lease is gone fails with
``PERMANENT_FAILURE_INVALID_ACK_ID`` in the error's ErrorInfo metadata (transient failures
can be injected); with message ordering a key's message is not delivered while an earlier
one of the key is leased to another pull. Time is the real clock; :meth:`expire_leases`
ends every lease at once, for tests that must not wait for a deadline.

Messages are serialized with the proto-plus types of ``google.pubsub_v1``, so the product's
gapic clients talk to it exactly as to the service.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import any_pb2, empty_pb2
from google.pubsub_v1 import types as v1
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = ["FakePubSub", "Leased"]

_SERVICE = "google.pubsub.v1."
INVALID_ACK_ID = "PERMANENT_FAILURE_INVALID_ACK_ID"
TRANSIENT = "TRANSIENT_FAILURE_UNORDERED_ACK_ID"


@dataclass
class Leased:
    """One message in one subscription: its deliveries and where it stands."""

    message: v1.PubsubMessage
    attempts: int = 0
    ack_id: str | None = None  # the current lease
    expires: float = 0.0
    done: str = ""  # "acked" or "dead-lettered"


@dataclass
class _Subscription:
    config: v1.Subscription
    messages: list[Leased] = field(default_factory=list)


class FakePubSub:
    """Topics and subscriptions with leases, redelivery, dead-lettering."""

    def __init__(self) -> None:
        self.topics: dict[str, list[str]] = {}
        self.subscriptions: dict[str, _Subscription] = {}
        self.acked: list[tuple[str, str]] = []  # (subscription, message id)
        self.nacked: list[tuple[str, str]] = []
        self.refused: list[tuple[str, str, str]] = []  # (subscription, ack id, reason)
        self.transient_failures = 0  # the next N ack/modack calls fail TRANSIENT for every id
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self.port = 0

    # --- set-up ------------------------------------------------------------------------

    def create_topic(self, topic: str) -> None:
        with self._lock:
            self.topics.setdefault(topic, [])

    def create_subscription(
        self,
        subscription: str,
        topic: str,
        *,
        ack_deadline_seconds: int = 10,
        exactly_once: bool = False,
        ordering: bool = False,
        dead_letter_topic: str = "",
        max_delivery_attempts: int = 5,
    ) -> None:
        config = v1.Subscription(
            name=subscription,
            topic=topic,
            ack_deadline_seconds=ack_deadline_seconds,
            enable_exactly_once_delivery=exactly_once,
            enable_message_ordering=ordering,
        )
        if dead_letter_topic:
            config.dead_letter_policy = v1.DeadLetterPolicy(
                dead_letter_topic=dead_letter_topic, max_delivery_attempts=max_delivery_attempts
            )
        with self._lock:
            self.topics[topic].append(subscription)
            self.subscriptions[subscription] = _Subscription(config)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        server.add_generic_rpc_handlers(self._handlers())
        self.port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=1).wait()

    # --- inspection and time -----------------------------------------------------------

    def expire_leases(self) -> None:
        """Every lease ends now, as if its deadline had passed."""
        with self._lock:
            for sub in self.subscriptions.values():
                for m in sub.messages:
                    m.expires = 0.0

    def outstanding(self, subscription: str) -> list[Leased]:
        """Messages not yet acknowledged nor dead-lettered."""
        with self._lock:
            return [m for m in self.subscriptions[subscription].messages if not m.done]

    def messages(self, subscription: str) -> list[Leased]:
        with self._lock:
            return list(self.subscriptions[subscription].messages)

    # --- services ----------------------------------------------------------------------

    def _handlers(self) -> list[grpc.GenericRpcHandler]:
        def unary(fn: Callable[[Any, grpc.ServicerContext], Any], req: Any, resp: Any) -> Any:
            return grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=req.deserialize, response_serializer=resp.serialize
            )

        def empty(fn: Callable[[Any, grpc.ServicerContext], Any], req: Any) -> Any:
            return grpc.unary_unary_rpc_method_handler(
                fn,
                request_deserializer=req.deserialize,
                response_serializer=empty_pb2.Empty.SerializeToString,
            )

        return [
            grpc.method_handlers_generic_handler(
                _SERVICE + "Publisher",
                {
                    "GetTopic": unary(self._get_topic, v1.GetTopicRequest, v1.Topic),
                    "Publish": unary(self._publish, v1.PublishRequest, v1.PublishResponse),
                },
            ),
            grpc.method_handlers_generic_handler(
                _SERVICE + "Subscriber",
                {
                    "GetSubscription": unary(
                        self._get_subscription, v1.GetSubscriptionRequest, v1.Subscription
                    ),
                    "Pull": unary(self._pull, v1.PullRequest, v1.PullResponse),
                    "ModifyAckDeadline": empty(self._modify, v1.ModifyAckDeadlineRequest),
                    "Acknowledge": empty(self._acknowledge, v1.AcknowledgeRequest),
                },
            ),
        ]

    def _sub(self, name: str, context: grpc.ServicerContext) -> _Subscription:
        sub = self.subscriptions.get(name)
        if sub is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Resource not found (resource={name}).")
        return sub  # type: ignore[return-value]

    def _get_topic(self, request: v1.GetTopicRequest, context: grpc.ServicerContext) -> v1.Topic:
        if request.topic not in self.topics:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Resource not found ({request.topic}).")
        return v1.Topic(name=request.topic)

    def _get_subscription(
        self, request: v1.GetSubscriptionRequest, context: grpc.ServicerContext
    ) -> v1.Subscription:
        with self._lock:
            return self._sub(request.subscription, context).config

    def _append(self, topic: str, messages: list[v1.PubsubMessage]) -> list[str]:
        ids = []
        for message in messages:
            stored = v1.PubsubMessage(message)
            stored.message_id = str(next(self._ids))
            stored.publish_time = datetime.now(UTC)
            ids.append(stored.message_id)
            for name in self.topics[topic]:
                self.subscriptions[name].messages.append(Leased(v1.PubsubMessage(stored)))
        return ids

    def _publish(
        self, request: v1.PublishRequest, context: grpc.ServicerContext
    ) -> v1.PublishResponse:
        with self._lock:
            if request.topic not in self.topics:
                context.abort(grpc.StatusCode.NOT_FOUND, f"Resource not found ({request.topic}).")
            ids = self._append(request.topic, list(request.messages))
        return v1.PublishResponse(message_ids=ids)

    def _pull(self, request: v1.PullRequest, context: grpc.ServicerContext) -> v1.PullResponse:
        now = time.monotonic()
        with self._lock:
            sub = self._sub(request.subscription, context)
            policy = sub.config.dead_letter_policy if "dead_letter_policy" in sub.config else None
            blocked: set[str] = set()  # ordering keys with an earlier message leased
            out: list[v1.ReceivedMessage] = []
            for m in sub.messages:
                if m.done:
                    continue
                key = m.message.ordering_key
                leased = m.ack_id is not None and m.expires > now
                if leased or (sub.config.enable_message_ordering and key in blocked):
                    if key:
                        blocked.add(key)
                    continue
                if len(out) >= max(1, request.max_messages):
                    break
                if policy is not None and m.attempts >= policy.max_delivery_attempts:
                    m.done, m.ack_id = "dead-lettered", None
                    self._append(policy.dead_letter_topic, [m.message])
                    continue
                m.attempts += 1
                m.ack_id, m.expires = uuid.uuid4().hex, now + sub.config.ack_deadline_seconds
                out.append(
                    v1.ReceivedMessage(
                        ack_id=m.ack_id,
                        message=m.message,
                        delivery_attempt=m.attempts if policy is not None else 0,
                    )
                )
        return v1.PullResponse(received_messages=out)

    def _lease_of(self, sub: _Subscription, ack_id: str, now: float) -> Leased | None:
        for m in sub.messages:
            if m.ack_id == ack_id and not m.done and m.expires > now:
                return m
        return None

    def _settle(
        self,
        name: str,
        ack_ids: list[str],
        context: grpc.ServicerContext,
        apply: Callable[[_Subscription, Leased], None],
    ) -> empty_pb2.Empty:
        now = time.monotonic()
        errors: dict[str, str] = {}
        with self._lock:
            sub = self._sub(name, context)
            exactly_once = sub.config.enable_exactly_once_delivery
            if exactly_once and self.transient_failures > 0:
                self.transient_failures -= 1
                errors = dict.fromkeys(ack_ids, TRANSIENT)
            else:
                for ack_id in ack_ids:
                    lease = self._lease_of(sub, ack_id, now)
                    if lease is not None:
                        apply(sub, lease)
                    elif exactly_once:
                        errors[ack_id] = INVALID_ACK_ID
                        self.refused.append((name, ack_id, INVALID_ACK_ID))
        if errors:
            info = error_details_pb2.ErrorInfo(
                reason="EXACTLY_ONCE_ACKID_FAILURE", domain="pubsub.googleapis.com", metadata=errors
            )
            detail = any_pb2.Any()
            detail.Pack(info)
            status = status_pb2.Status(
                code=code_pb2.INVALID_ARGUMENT,
                message="Some acknowledgement ids in the request were invalid.",
                details=[detail],
            )
            context.abort_with_status(rpc_status.to_status(status))
        return empty_pb2.Empty()

    def _acknowledge(
        self, request: v1.AcknowledgeRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        def ack(sub: _Subscription, m: Leased) -> None:
            m.done, m.ack_id = "acked", None
            self.acked.append((request.subscription, m.message.message_id))

        return self._settle(request.subscription, list(request.ack_ids), context, ack)

    def _modify(
        self, request: v1.ModifyAckDeadlineRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        def modify(sub: _Subscription, m: Leased) -> None:
            if request.ack_deadline_seconds == 0:
                m.ack_id, m.expires = None, 0.0
                self.nacked.append((request.subscription, m.message.message_id))
            else:
                m.expires = time.monotonic() + request.ack_deadline_seconds

        return self._settle(request.subscription, list(request.ack_ids), context, modify)
