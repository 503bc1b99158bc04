"""One alerting pass: the open findings against ``ops.notifications``; new findings get an
open message, closed ones a resolved message, per destination, within its rate limit.

:func:`check` is ``lakehouse alerts check``; :func:`after_batch` is the same pass for one
stream, called by its monitoring step; :func:`stream_failed` is called by the driver that
saw a stream stop with an error. The hooks never raise: alerting cannot stop a stream."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from pyspark.sql import SparkSession

from lakehouse.alerts.deliver import deliver
from lakehouse.alerts.findings import Scope, failed_alert, open_alerts
from lakehouse.alerts.model import Alert
from lakehouse.alerts.settings import AlertsConfig
from lakehouse.alerts.state import (
    CLAIM_TIMEOUT,
    Message,
    Stored,
    claim,
    claimed_by,
    read_state,
    record,
)
from lakehouse.config import LakehouseConfig
from lakehouse.io.retry import is_conflict

__all__ = ["PassResult", "after_batch", "check", "plan", "stream_failed"]

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    """What a pass did: messages sent, failed (recorded, tried again next pass), deferred
    by the rate limit, and whether another process held the state (nothing sent)."""

    open_findings: list[Alert] = field(default_factory=list)
    sent: list[Message] = field(default_factory=list)
    failed: list[tuple[Message, str]] = field(default_factory=list)
    deferred: list[Message] = field(default_factory=list)
    contended: bool = False


def _pending(previous: Stored | None, settings: AlertsConfig, now: datetime) -> bool:
    """Whether a message still has to go, given its row."""
    if previous is None or previous.status == "deferred":
        return True
    if previous.status == "failed":
        return previous.deliveries < settings.max_deliveries
    if previous.status == "claimed":  # a pass that died after claiming
        return now - previous.updated_ts > CLAIM_TIMEOUT
    return False  # sent, given_up


def plan(
    alerts: Sequence[Alert],
    state: Sequence[Stored],
    settings: AlertsConfig,
    scope: Scope,
    now: datetime,
) -> tuple[list[Message], list[Message]]:
    """The messages to send now and those the rate limit defers (pure).

    Open messages for every open alert not sent yet; a resolved message for every alert of
    ``scope`` whose open message went to a destination and that is no longer open. Per
    destination at most ``rate_limit`` messages per window, counting those already sent in
    it (by any process); opens first, oldest finding first."""
    rows = {(s.finding_id, s.event, s.destination): s for s in state}
    open_ids = {a.finding_id for a in alerts}
    window = now - timedelta(minutes=settings.rate_window_minutes)
    used = {d.name: 0 for d in settings.destinations}
    for s in state:
        if s.sent_ts is not None and s.sent_ts >= window and s.destination in used:
            used[s.destination] += 1
    wanted: list[Message] = []
    for dest in settings.destinations:
        for a in sorted(alerts, key=lambda a: a.detected_ts):
            prev = rows.get((a.finding_id, "open", dest.name))
            if _pending(prev, settings, now):
                wanted.append(Message(a, "open", dest.name, prev))
        closed = [
            s
            for s in state
            if s.event == "open"
            and s.status == "sent"
            and s.destination == dest.name
            and s.finding_id not in open_ids
            and s.alert.kind in scope.kinds
            and scope.covers(s.alert.dataset, s.alert.job)
        ]
        for s in sorted(closed, key=lambda s: s.alert.detected_ts):
            prev = rows.get((s.finding_id, "resolved", dest.name))
            if _pending(prev, settings, now):
                wanted.append(Message(s.alert, "resolved", dest.name, prev))
    send, defer = [], []
    for m in wanted:
        if used[m.destination] < settings.rate_limit:
            used[m.destination] += 1
            send.append(m)
        else:
            defer.append(m)
    return send, defer


def run_pass(
    spark: SparkSession,
    config: LakehouseConfig,
    scope: Scope,
    *,
    extra: Sequence[Alert] = (),
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
) -> PassResult:
    """Compute, claim, deliver, record. ``extra`` are alerts the caller knows are open
    (a failed stream, before ``ops.notifications`` knows it)."""
    settings = config.alerts
    now = now or datetime.now(UTC)
    result = PassResult()
    if not settings.active:
        return result
    state = read_state(spark, config.lake)
    alerts = open_alerts(spark, config, state, scope, now)
    known = {a.finding_id for a in alerts}
    alerts += [a for a in extra if a.finding_id not in known]
    result.open_findings = alerts
    send, defer = plan(alerts, state, settings, scope, now)
    if not send and not [m for m in defer if m.previous is None]:
        result.deferred = defer
        return result
    claim_id = uuid.uuid4().hex
    try:
        whole = claim(spark, config.lake, send, defer, claim_id=claim_id, now=now)
    except Exception as exc:  # a concurrent pass committed first: it sends
        if not is_conflict(exc):
            raise
        result.contended = True
        return result
    result.deferred = defer
    # when a row changed since it was read, send only what this pass holds
    mine = {m.notification_id for m in send} if whole else claimed_by(spark, config.lake, claim_id)
    destinations = {d.name: d for d in settings.destinations}
    outcomes = []
    for m in send:
        if m.notification_id not in mine:
            continue
        delivery = deliver(destinations[m.destination], m.alert, m.event, settings, env=env)
        if delivery.sent:
            result.sent.append(m)
            status = "sent"
        else:
            result.failed.append((m, delivery.error or "unknown error"))
            deliveries = (m.previous.deliveries if m.previous else 0) + 1
            status = "given_up" if deliveries >= settings.max_deliveries else "failed"
        outcomes.append((m, status, delivery.attempts, delivery.error))
    record(spark, config.lake, outcomes, claim_id, datetime.now(UTC))
    return result


def check(
    spark: SparkSession,
    config: LakehouseConfig,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
) -> PassResult:
    """``lakehouse alerts check``: one pass over every stream (stalls included)."""
    return run_pass(spark, config, Scope(), now=now, env=env)


class _Streams:
    """Per process: the streams whose pass left alerts open or that ran no pass yet (a
    stream's first batch after a start looks once; then only batches with something to
    say, or, at most once per :data:`QUIET_PASS_SECONDS`, those of a stream with open
    alerts, cost a pass)."""

    seen: ClassVar[set[tuple[str | None, str]]] = set()
    open: ClassVar[set[tuple[str | None, str]]] = set()
    last: ClassVar[dict[tuple[str | None, str], float]] = {}


QUIET_PASS_SECONDS = 60.0


def after_batch(
    spark: SparkSession,
    config: LakehouseConfig,
    dataset: str | None,
    job: str,
    *,
    critical: bool,
) -> PassResult | None:
    """The pass of one stream after its batch was logged (``critical``: the batch had a
    critical finding or was blocked). Never raises: a failure is logged."""
    if not config.alerts.active or dataset is None:
        return None
    key = (dataset, job)
    if not critical and key in _Streams.seen:
        if key not in _Streams.open:
            return None
        if time.monotonic() - _Streams.last.get(key, 0.0) < QUIET_PASS_SECONDS:
            return None
    _Streams.last[key] = time.monotonic()
    try:
        result = run_pass(spark, config, Scope(dataset, job))
    except Exception:  # alerting must never stop a stream
        log.warning("alerts: the pass of %s/%s failed", dataset, job, exc_info=True)
        return None
    _Streams.seen.add(key)
    if result.open_findings or result.deferred or result.failed:
        _Streams.open.add(key)
    else:
        _Streams.open.discard(key)
    return result


def stream_failed(
    spark: SparkSession, config: LakehouseConfig, dataset: str | None, job: str, error: str
) -> PassResult | None:
    """Tell that a stream stopped with ``error`` (called by the driver that saw it).
    Never raises."""
    if not config.alerts.active:
        return None
    try:
        from lakehouse.platform import load_platform

        alert = failed_alert(load_platform(config), dataset, job, error, datetime.now(UTC))
        _Streams.open.add((dataset, job))
        return run_pass(spark, config, Scope(dataset, job), extra=[alert])
    except Exception:  # alerting must never hide the failure it reports
        log.warning("alerts: could not report the failure of %s/%s", dataset, job, exc_info=True)
        return None
