"""An in-process fake of the Cloud Monitoring ``MetricService.ListTimeSeries`` gRPC method,
served on 127.0.0.1 over a real channel, with the proto-plus types of
``google.cloud.monitoring_v3``: the product's gapic client talks to it as to the service.

What it models: points of ``pubsub_subscription`` metrics written by a test (:meth:`write`);
a request names the project (``projects/P``), and its filter one metric type and one
``resource.labels.subscription_id``, as the service requires; the answer is one time series
per subscription and metric with the points whose end time is in the interval, newest first
(the service's order). :attr:`deny` answers PERMISSION_DENIED, :attr:`delay` answers late.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import grpc
from google.cloud.monitoring_v3 import types as m3

__all__ = ["FakeMonitoring"]

_METRIC = re.compile(r'metric\.type\s*=\s*"([^"]+)"')
_SUBSCRIPTION = re.compile(r'resource\.labels\.subscription_id\s*=\s*"([^"]+)"')


@dataclass
class FakeMonitoring:
    """Metric points per (project, subscription id, metric type)."""

    points: dict[tuple[str, str, str], list[tuple[datetime, int]]] = field(default_factory=dict)
    requests: list[m3.ListTimeSeriesRequest] = field(default_factory=list)
    deny: bool = False
    delay: float = 0.0
    port: int = 0
    _server: grpc.Server | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handler = grpc.unary_unary_rpc_method_handler(
            self._list_time_series,
            request_deserializer=m3.ListTimeSeriesRequest.deserialize,
            response_serializer=m3.ListTimeSeriesResponse.serialize,
        )
        server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    "google.monitoring.v3.MetricService", {"ListTimeSeries": handler}
                )
            ]
        )
        self.port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=1).wait()

    def write(self, subscription: str, metric: str, at: datetime, value: int) -> None:
        """A point of ``metric`` for ``subscription`` (projects/P/subscriptions/S)."""
        _, project, _, name = subscription.split("/")
        with self._lock:
            self.points.setdefault((project, name, metric), []).append((at, value))

    def _list_time_series(
        self, request: m3.ListTimeSeriesRequest, context: grpc.ServicerContext
    ) -> m3.ListTimeSeriesResponse:
        with self._lock:
            self.requests.append(request)
        if self.delay:
            time.sleep(self.delay)
        if self.deny:
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"Permission monitoring.timeSeries.list denied (or the resource may not exist) "
                f"for {request.name}.",
            )
        metric, subscription = _METRIC.findall(request.filter), _SUBSCRIPTION.search(request.filter)
        if len(metric) != 1 or subscription is None or not request.name.startswith("projects/"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad filter {request.filter!r}")
        project = request.name.removeprefix("projects/")
        start, end = request.interval.start_time, request.interval.end_time
        with self._lock:
            found = self.points.get((project, subscription.group(1), metric[0]), [])  # type: ignore[union-attr]
            chosen = sorted((p for p in found if start <= p[0] <= end), reverse=True)
        if not chosen:
            return m3.ListTimeSeriesResponse()
        series = m3.TimeSeries(
            metric={"type": metric[0]},
            resource={
                "type": "pubsub_subscription",
                "labels": {"project_id": project, "subscription_id": subscription.group(1)},  # type: ignore[union-attr]
            },
            points=[_point(at, value) for at, value in chosen],
        )
        return m3.ListTimeSeriesResponse(time_series=[series])


def _point(at: datetime, value: int) -> Any:
    return m3.Point(interval=m3.TimeInterval(end_time=at), value=m3.TypedValue(int64_value=value))
