"""An in-process fake of the Pub/Sub Lite gRPC services, served on 127.0.0.1 over a real
gRPC channel: AdminService (GetSubscription, GetTopicPartitions), CursorService
(CommitCursor, ListPartitionCursors), TopicStatsService (ComputeHeadCursor), SubscriberService
(Subscribe, with seek and flow control) and PublisherService (Publish).

Messages are serialized with the proto-plus types of ``google.cloud.pubsublite_v1``, so the
product's gapic clients talk to it exactly as to the service.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from google.cloud import pubsublite_v1 as v1

__all__ = ["FakePubSubLite", "SubscribeCall"]

_SERVICE = "google.cloud.pubsublite.v1."
MAX_MESSAGES_PER_RESPONSE = 50


@dataclass
class SubscribeCall:
    """What one Subscribe stream asked for: where it seeked and the flow control it granted."""

    subscription: str
    partition: int
    seek_offset: int
    flow_control: list[tuple[int, int]] = field(default_factory=list)
    delivered: list[int] = field(default_factory=list)


class FakePubSubLite:
    """Topics with partitions of messages, subscriptions with committed cursors."""

    def __init__(self) -> None:
        self.topics: dict[str, list[list[v1.SequencedMessage]]] = {}
        self.subscriptions: dict[str, str] = {}
        self.cursors: dict[tuple[str, int], int] = {}
        self.subscribe_calls: list[SubscribeCall] = []
        self.commits: list[tuple[str, int, int]] = []
        self._changed = threading.Condition()
        self._server: grpc.Server | None = None
        self.port = 0

    # --- set-up ------------------------------------------------------------------------

    def create_topic(self, topic: str, partitions: int) -> None:
        with self._changed:
            self.topics[topic] = [[] for _ in range(partitions)]

    def create_subscription(self, subscription: str, topic: str) -> None:
        with self._changed:
            self.subscriptions[subscription] = topic

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        server.add_generic_rpc_handlers(self._handlers())
        self.port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=1).wait()

    def offsets(self, topic: str) -> dict[int, list[int]]:
        with self._changed:
            return {
                p: [int(m.cursor.offset) for m in messages]
                for p, messages in enumerate(self.topics[topic])
            }

    # --- services ----------------------------------------------------------------------

    def _handlers(self) -> list[grpc.GenericRpcHandler]:
        def unary(fn: Callable[[Any, grpc.ServicerContext], Any], req: Any, resp: Any) -> Any:
            return grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=req.deserialize, response_serializer=resp.serialize
            )

        def stream(
            fn: Callable[[Iterator[Any], grpc.ServicerContext], Any], req: Any, resp: Any
        ) -> Any:
            return grpc.stream_stream_rpc_method_handler(
                fn, request_deserializer=req.deserialize, response_serializer=resp.serialize
            )

        return [
            grpc.method_handlers_generic_handler(
                _SERVICE + "AdminService",
                {
                    "GetSubscription": unary(
                        self._get_subscription, v1.GetSubscriptionRequest, v1.Subscription
                    ),
                    "GetTopicPartitions": unary(
                        self._get_topic_partitions, v1.GetTopicPartitionsRequest, v1.TopicPartitions
                    ),
                },
            ),
            grpc.method_handlers_generic_handler(
                _SERVICE + "CursorService",
                {
                    "CommitCursor": unary(
                        self._commit_cursor, v1.CommitCursorRequest, v1.CommitCursorResponse
                    ),
                    "ListPartitionCursors": unary(
                        self._list_cursors,
                        v1.ListPartitionCursorsRequest,
                        v1.ListPartitionCursorsResponse,
                    ),
                },
            ),
            grpc.method_handlers_generic_handler(
                _SERVICE + "TopicStatsService",
                {
                    "ComputeHeadCursor": unary(
                        self._head_cursor, v1.ComputeHeadCursorRequest, v1.ComputeHeadCursorResponse
                    )
                },
            ),
            grpc.method_handlers_generic_handler(
                _SERVICE + "SubscriberService",
                {"Subscribe": stream(self._subscribe, v1.SubscribeRequest, v1.SubscribeResponse)},
            ),
            grpc.method_handlers_generic_handler(
                _SERVICE + "PublisherService",
                {"Publish": stream(self._publish, v1.PublishRequest, v1.PublishResponse)},
            ),
        ]

    def _topic_of(self, subscription: str, context: grpc.ServicerContext) -> str:
        with self._changed:
            topic = self.subscriptions.get(subscription)
        if topic is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Subscription {subscription} not found")
        return str(topic)

    def _partitions(self, topic: str, context: grpc.ServicerContext) -> list[list[Any]]:
        with self._changed:
            partitions = self.topics.get(topic)
        if partitions is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Topic {topic} not found")
        return partitions  # type: ignore[return-value]

    def _get_subscription(
        self, request: v1.GetSubscriptionRequest, context: grpc.ServicerContext
    ) -> v1.Subscription:
        return v1.Subscription(name=request.name, topic=self._topic_of(request.name, context))

    def _get_topic_partitions(
        self, request: v1.GetTopicPartitionsRequest, context: grpc.ServicerContext
    ) -> v1.TopicPartitions:
        return v1.TopicPartitions(partition_count=len(self._partitions(request.name, context)))

    def _head_cursor(
        self, request: v1.ComputeHeadCursorRequest, context: grpc.ServicerContext
    ) -> v1.ComputeHeadCursorResponse:
        partitions = self._partitions(request.topic, context)
        with self._changed:
            head = len(partitions[request.partition])
        return v1.ComputeHeadCursorResponse(head_cursor=v1.Cursor(offset=head))

    def _commit_cursor(
        self, request: v1.CommitCursorRequest, context: grpc.ServicerContext
    ) -> v1.CommitCursorResponse:
        self._topic_of(request.subscription, context)
        with self._changed:
            self.cursors[(request.subscription, request.partition)] = request.cursor.offset
            self.commits.append((request.subscription, request.partition, request.cursor.offset))
        return v1.CommitCursorResponse()

    def _list_cursors(
        self, request: v1.ListPartitionCursorsRequest, context: grpc.ServicerContext
    ) -> v1.ListPartitionCursorsResponse:
        self._topic_of(request.parent, context)
        with self._changed:
            cursors = sorted((p, o) for (s, p), o in self.cursors.items() if s == request.parent)
        return v1.ListPartitionCursorsResponse(
            partition_cursors=[
                v1.PartitionCursor(partition=p, cursor=v1.Cursor(offset=o)) for p, o in cursors
            ]
        )

    def _subscribe(
        self, requests: Iterator[v1.SubscribeRequest], context: grpc.ServicerContext
    ) -> Iterator[v1.SubscribeResponse]:
        first = next(requests)
        if "initial" not in first:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "first request must be initial")
        initial = first.initial
        topic = self._topic_of(initial.subscription, context)
        partitions = self._partitions(topic, context)
        if not 0 <= initial.partition < len(partitions):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"no partition {initial.partition}")
        offset = int(initial.initial_location.cursor.offset)
        call = SubscribeCall(initial.subscription, initial.partition, offset)
        tokens = {"messages": 0, "bytes": 0, "closed": 0}

        def pump() -> None:
            try:
                for request in requests:
                    if "flow_control" in request:
                        with self._changed:
                            fc = request.flow_control
                            tokens["messages"] += fc.allowed_messages
                            tokens["bytes"] += fc.allowed_bytes
                            call.flow_control.append((fc.allowed_messages, fc.allowed_bytes))
                            self._changed.notify_all()
            except grpc.RpcError:
                pass
            finally:
                with self._changed:
                    tokens["closed"] = 1
                    self._changed.notify_all()

        with self._changed:
            self.subscribe_calls.append(call)
        threading.Thread(target=pump, daemon=True).start()
        yield v1.SubscribeResponse(
            initial=v1.InitialSubscribeResponse(cursor=v1.Cursor(offset=offset))
        )
        messages = partitions[initial.partition]
        tokens["next"] = offset

        def ready() -> bool:
            return bool(tokens["closed"]) or (
                tokens["messages"] > 0 and tokens["bytes"] > 0 and tokens["next"] < len(messages)
            )

        while context.is_active():
            with self._changed:
                self._changed.wait_for(ready, timeout=0.2)
                if tokens["closed"]:
                    return
                batch: list[v1.SequencedMessage] = []
                while (
                    tokens["next"] < len(messages)
                    and tokens["messages"] > 0
                    and tokens["bytes"] > 0
                    and len(batch) < MAX_MESSAGES_PER_RESPONSE
                ):
                    message = messages[tokens["next"]]
                    batch.append(message)
                    tokens["messages"] -= 1
                    tokens["bytes"] -= int(message.size_bytes)
                    tokens["next"] += 1
                call.delivered.extend(int(m.cursor.offset) for m in batch)
            if batch:
                yield v1.SubscribeResponse(messages=v1.MessageResponse(messages=batch))

    def _publish(
        self, requests: Iterator[v1.PublishRequest], context: grpc.ServicerContext
    ) -> Iterator[v1.PublishResponse]:
        first = next(requests)
        if "initial_request" not in first:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "first request must be initial")
        topic, partition = first.initial_request.topic, first.initial_request.partition
        messages = self._partitions(topic, context)[partition]
        yield v1.PublishResponse(initial_response=v1.InitialPublishResponse())
        for request in requests:
            with self._changed:
                start = len(messages)
                for n, message in enumerate(request.message_publish_request.messages):
                    messages.append(
                        v1.SequencedMessage(
                            cursor=v1.Cursor(offset=start + n),
                            publish_time=datetime.now(UTC),
                            message=message,
                            size_bytes=len(message.data) + len(message.key) + 16,
                        )
                    )
                self._changed.notify_all()
            yield v1.PublishResponse(
                message_response=v1.MessagePublishResponse(start_cursor=v1.Cursor(offset=start))
            )
