"""The public Spark Connect endpoint: a gRPC proxy in front of Spark's own Connect server.

Spark's server listens on a private loopback port and requires a token only this process
knows; the proxy forwards every call of ``spark.connect.SparkConnectService`` to it as raw
bytes, adding the token. The two calls that carry plans (``ExecutePlan``, ``AnalyzePlan``:
analysing a SQL relation runs a command in it) are decoded and checked with
:func:`lakehouse.serve.guard.refusal` when the server is read-only or the client asks for
it with the ``x-lakehouse-read-only`` header (``lakehouse sql`` does); a write is refused
with ``PERMISSION_DENIED`` and a one-line message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent import futures
from typing import Any

import grpc
from google.rpc import code_pb2, status_pb2
from grpc_status import rpc_status
from pyspark.sql.connect.proto import base_pb2

from lakehouse.serve.guard import SqlCheck, refusal
from lakehouse.serve.local_query import REFUSED

__all__ = ["READ_ONLY_HEADER", "ConnectProxy", "refusal_message"]

READ_ONLY_HEADER = "x-lakehouse-read-only"
_SERVICE = base_pb2.DESCRIPTOR.services_by_name["SparkConnectService"]
_CHECKED: dict[str, Any] = {
    "ExecutePlan": base_pb2.ExecutePlanRequest,
    "AnalyzePlan": base_pb2.AnalyzePlanRequest,
}
_MAX_MESSAGE = 512 * 1024 * 1024
_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
]
_DROPPED_HEADERS = ("user-agent", "authorization", READ_ONLY_HEADER)


def refusal_message(writer: str) -> str:
    return (
        f"{REFUSED} ({writer}): write with the "
        "pipeline, `lakehouse erase` or `lakehouse retention run`, or start the server "
        "with `lakehouse serve --allow-writes`"
    )


class _Forwarder(grpc.GenericRpcHandler):  # type: ignore[misc]
    def __init__(
        self, channel: grpc.Channel, token: str, allow_writes: bool, check_sql: SqlCheck
    ) -> None:
        self._token = token
        self._allow_writes = allow_writes
        self._check_sql = check_sql
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}
        for method in _SERVICE.methods:
            path = f"/{_SERVICE.full_name}/{method.name}"
            self._handlers[path] = self._handler(channel, path, method)

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        return self._handlers.get(handler_call_details.method)

    def _metadata(self, context: grpc.ServicerContext) -> list[tuple[str, str | bytes]]:
        forwarded = [
            (k, v)
            for k, v in context.invocation_metadata()
            if k not in _DROPPED_HEADERS and not k.startswith("grpc-")
        ]
        return [*forwarded, ("authorization", f"Bearer {self._token}")]

    def _check(self, name: str, request: bytes, context: grpc.ServicerContext) -> None:
        message_class = _CHECKED.get(name)
        if message_class is None:
            return
        asked = any(k == READ_ONLY_HEADER for k, _ in context.invocation_metadata())
        if self._allow_writes and not asked:
            return
        writer = refusal(message_class.FromString(request), self._check_sql)
        if writer is not None:
            status = status_pb2.Status(
                code=code_pb2.PERMISSION_DENIED, message=refusal_message(writer)
            )
            context.abort_with_status(rpc_status.to_status(status))

    def _handler(self, channel: grpc.Channel, path: str, method: Any) -> grpc.RpcMethodHandler:
        name = method.name
        if method.client_streaming:
            stream_unary = channel.stream_unary(path)

            def client_stream(requests: Iterable[bytes], context: grpc.ServicerContext) -> bytes:
                try:
                    return stream_unary(iter(requests), metadata=self._metadata(context))  # type: ignore[no-any-return]
                except grpc.RpcError as exc:
                    _abort(context, exc)
                    raise

            return grpc.stream_unary_rpc_method_handler(client_stream)
        if method.server_streaming:
            unary_stream = channel.unary_stream(path)

            def server_stream(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
                self._check(name, request, context)
                call = unary_stream(request, metadata=self._metadata(context))
                context.add_callback(call.cancel)
                try:
                    yield from call
                except grpc.RpcError as exc:
                    _abort(context, exc)

            return grpc.unary_stream_rpc_method_handler(server_stream)
        unary_unary = channel.unary_unary(path)

        def unary(request: bytes, context: grpc.ServicerContext) -> bytes:
            self._check(name, request, context)
            try:
                return unary_unary(request, metadata=self._metadata(context))  # type: ignore[no-any-return]
            except grpc.RpcError as exc:
                _abort(context, exc)
                raise

        return grpc.unary_unary_rpc_method_handler(unary)


def _abort(context: grpc.ServicerContext, exc: grpc.RpcError) -> None:
    """Pass Spark's error on as it came: code, message and the rich details (trailers)."""
    call: Any = exc
    trailers = call.trailing_metadata() if hasattr(call, "trailing_metadata") else None
    if trailers:
        context.set_trailing_metadata(trailers)
    code = call.code() if hasattr(call, "code") else grpc.StatusCode.UNKNOWN
    details = call.details() if hasattr(call, "details") else str(exc)
    context.abort(code, details or "")


class ConnectProxy:
    """The proxy server: ``start`` binds ``host:port``, ``stop`` closes it and its channel."""

    def __init__(
        self,
        backend_port: int,
        token: str,
        *,
        allow_writes: bool,
        check_sql: SqlCheck,
        workers: int = 32,
    ) -> None:
        self._channel = grpc.insecure_channel(f"127.0.0.1:{backend_port}", options=_OPTIONS)
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="connect-proxy"),
            handlers=[_Forwarder(self._channel, token, allow_writes, check_sql)],
            options=_OPTIONS,
        )

    def start(self, host: str, port: int) -> None:
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._server.add_insecure_port(address)  # raises RuntimeError when taken
        self._server.start()

    def stop(self, grace: float = 5.0) -> None:
        self._server.stop(grace).wait(grace + 1)
        self._channel.close()
