"""A Pub/Sub subscription's backlog and dead letters, read from Cloud Monitoring.

Pub/Sub exposes neither as an API of its own: the service writes them as metrics of the
``pubsub_subscription`` monitored resource, sampled every 60 s and visible a few minutes
later. ``MetricService.ListTimeSeries`` (``google-cloud-monitoring``, Application Default
Credentials; the runtime account needs ``roles/monitoring.viewer``) takes one metric type per
call:

* ``subscription/num_undelivered_messages`` (gauge): unacknowledged messages;
* ``subscription/oldest_unacked_message_age`` (gauge, seconds);
* ``subscription/dead_letter_message_count`` (delta): messages forwarded to the dead-letter
  topic, summed over a window.

Nothing here raises for an unreachable or forbidden Monitoring API, or for a subscription
without data: the result carries one line saying why (``problem``), for ``status`` and the
log; a stream never stops for its backlog.

Cost: ``status`` reads the three metrics (three calls). The bronze stream reads the two gauges
through :class:`BacklogSampler`: at most once per ``interval`` seconds (default 60, the
metrics' own sampling period: reading more often returns the same points), each call with a
short timeout and no retry; between samples a batch reuses the last sample (no call at all),
and a failed read is not repeated before the interval ends either.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import grpc
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions

if TYPE_CHECKING:
    # imported where used: the Monitoring client takes most of a second to import, and
    # every job imports this module, most of them never reading a backlog
    from google.cloud.monitoring_v3 import MetricServiceClient

__all__ = [
    "DEAD_LETTERED",
    "DEFAULT_MONITORING_ENDPOINT",
    "OLDEST_UNACKED",
    "UNDELIVERED",
    "Backlog",
    "BacklogSampler",
    "DeadLetters",
    "MonitoringClient",
    "read_backlog",
    "read_dead_letters",
]

DEFAULT_MONITORING_ENDPOINT = "monitoring.googleapis.com:443"
_METRIC = "pubsub.googleapis.com/subscription/"
UNDELIVERED = _METRIC + "num_undelivered_messages"
OLDEST_UNACKED = _METRIC + "oldest_unacked_message_age"
DEAD_LETTERED = _METRIC + "dead_letter_message_count"
GAUGE_WINDOW = timedelta(minutes=10)  # sampled every 60 s, visible up to a few minutes late
DEAD_LETTER_WINDOW = timedelta(hours=24)
_SUBSCRIPTION = re.compile(r"^projects/([^/\s]+)/subscriptions/([^/\s]+)$")
_log = logging.getLogger(__name__)


class MonitoringUnavailable(Exception):
    """Cloud Monitoring could not be read; the message is one line for ``status``."""


@dataclass(frozen=True)
class Backlog:
    """A subscription's backlog at ``sampled_ts`` (the newest point), or why it is unknown."""

    subscription: str
    messages: int | None = None
    oldest_seconds: int | None = None
    sampled_ts: datetime | None = None
    problem: str = ""


@dataclass(frozen=True)
class DeadLetters:
    """Messages forwarded to the dead-letter topic within ``window``, or why it is unknown."""

    count: int | None = None
    window: timedelta = DEAD_LETTER_WINDOW
    problem: str = ""


def _project_and_id(subscription: str) -> tuple[str, str]:
    match = _SUBSCRIPTION.match(subscription)
    if match is None:
        raise ValueError(f"{subscription!r} is not projects/PROJECT/subscriptions/NAME")
    return match.group(1), match.group(2)


def _problem(exc: Exception, endpoint: str) -> str:
    """One line for a failed read of Cloud Monitoring."""
    if isinstance(exc, api_exceptions.PermissionDenied):
        return (
            f"permission denied reading Cloud Monitoring ({exc.message}); grant the runtime "
            "account roles/monitoring.viewer on the project"
        )
    if isinstance(exc, api_exceptions.DeadlineExceeded):
        return f"Cloud Monitoring at {endpoint} did not answer in time"
    if isinstance(exc, auth_exceptions.DefaultCredentialsError):
        first = str(exc).strip().splitlines()
        return (
            "no usable Application Default Credentials for Cloud Monitoring "
            f"({first[0] if first else type(exc).__name__})"
        )
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        text = " ".join(str(exc.message).split())
        return f"Cloud Monitoring at {endpoint}: {type(exc).__name__}: {text}"
    return f"Cloud Monitoring at {endpoint}: {' '.join(str(exc).split())}"


class MonitoringClient:
    """The gapic ``MetricServiceClient`` of one endpoint; ``insecure``: a plaintext channel
    without credentials, for a local fake only."""

    def __init__(
        self,
        endpoint: str = DEFAULT_MONITORING_ENDPOINT,
        insecure: bool = False,
        timeout: float = 5.0,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._channel: grpc.Channel | None = None
        self._client: MetricServiceClient | None = None
        self._insecure = insecure
        self.calls = 0  # ListTimeSeries calls made, for the cost of a sampler

    def _connect(self) -> MetricServiceClient:
        from google.cloud.monitoring_v3 import MetricServiceClient
        from google.cloud.monitoring_v3.services.metric_service.transports import (
            MetricServiceGrpcTransport,
        )

        if self._client is None:
            if self._insecure:
                self._channel = grpc.insecure_channel(self.endpoint)
                transport = MetricServiceGrpcTransport(channel=self._channel)
                self._client = MetricServiceClient(transport=transport)
            else:
                self._client = MetricServiceClient(client_options={"api_endpoint": self.endpoint})
        return self._client

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()

    def points(
        self, subscription: str, metric: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, int]]:
        """The (end time, value) points of ``metric`` for ``subscription`` in the interval,
        newest first; :class:`MonitoringUnavailable` when Monitoring cannot be read."""
        from google.cloud.monitoring_v3 import types as m3

        project, subscription_id = _project_and_id(subscription)
        request = m3.ListTimeSeriesRequest(
            name=f"projects/{project}",
            filter=(
                f'metric.type = "{metric}" AND resource.type = "pubsub_subscription" '
                f'AND resource.labels.subscription_id = "{subscription_id}"'
            ),
            interval=m3.TimeInterval(start_time=start, end_time=end),
            view=m3.ListTimeSeriesRequest.TimeSeriesView.FULL,
        )
        self.calls += 1
        found: list[tuple[datetime, int]] = []
        try:
            pages = self._connect().list_time_series(
                request=request, timeout=self.timeout, retry=None
            )
            for series in pages:
                for point in series.points:
                    ts = point.interval.end_time
                    found.append((datetime.fromtimestamp(ts.timestamp(), UTC), _value(point)))
        except (api_exceptions.GoogleAPICallError, auth_exceptions.GoogleAuthError) as exc:
            raise MonitoringUnavailable(_problem(exc, self.endpoint)) from exc
        return sorted(found, key=lambda p: p[0], reverse=True)


def _value(point: Any) -> int:
    from google.cloud.monitoring_v3 import types as m3

    value = point.value
    kind = m3.TypedValue.pb(value).WhichOneof("value")
    return int(getattr(value, kind)) if kind in ("int64_value", "double_value") else 0


def read_backlog(
    client: MonitoringClient, subscription: str, now: datetime | None = None
) -> Backlog:
    """The newest backlog points of the last 10 minutes (two calls); never raises."""
    end = now or datetime.now(UTC)
    start = end - GAUGE_WINDOW
    try:
        undelivered = client.points(subscription, UNDELIVERED, start, end)
        oldest = client.points(subscription, OLDEST_UNACKED, start, end)
    except MonitoringUnavailable as exc:
        return Backlog(subscription, problem=str(exc))
    if not undelivered and not oldest:
        return Backlog(
            subscription,
            problem=(
                f"no backlog data in Cloud Monitoring for the last "
                f"{int(GAUGE_WINDOW.total_seconds() // 60)} min (a new or idle subscription, "
                "or metrics not yet written)"
            ),
        )
    sampled = max(p[0][0] for p in (undelivered, oldest) if p)
    return Backlog(
        subscription,
        messages=undelivered[0][1] if undelivered else None,
        oldest_seconds=oldest[0][1] if oldest else None,
        sampled_ts=sampled,
    )


def read_dead_letters(
    client: MonitoringClient,
    subscription: str,
    now: datetime | None = None,
    window: timedelta = DEAD_LETTER_WINDOW,
) -> DeadLetters:
    """Messages forwarded to the dead-letter topic in the last ``window`` (the sum of the
    delta points; none written means none forwarded); never raises."""
    end = now or datetime.now(UTC)
    try:
        points = client.points(subscription, DEAD_LETTERED, end - window, end)
    except MonitoringUnavailable as exc:
        return DeadLetters(window=window, problem=str(exc))
    return DeadLetters(count=sum(value for _, value in points), window=window)


class BacklogSampler:
    """The bronze stream's backlog: read at most once per ``interval`` seconds (0: never),
    the last sample reused in between (a failure too)."""

    def __init__(
        self,
        client: MonitoringClient,
        subscription: str,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.subscription = subscription
        self.interval = interval
        self._clock = clock
        self._last: Backlog | None = None
        self._read_at = 0.0

    def sample(self) -> Backlog | None:
        """The latest sample, read now when the last is older than the interval; None when
        sampling is off."""
        if self.interval <= 0:
            return None
        now = self._clock()
        if self._last is None or now - self._read_at >= self.interval:
            self._last = read_backlog(self.client, self.subscription)
            self._read_at = now
            if self._last.problem:  # once per interval, not once per batch
                _log.warning(
                    "Pub/Sub %s backlog unknown: %s", self.subscription, self._last.problem
                )
        return self._last
