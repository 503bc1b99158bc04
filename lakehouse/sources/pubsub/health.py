"""What ``lakehouse status`` says of a Pub/Sub subscription: its backlog (Cloud Monitoring),
its dead-letter topic (the subscription's ``dead_letter_policy``, Subscriber API) and how
many messages went there (Cloud Monitoring). Each part that cannot be read is one line
saying why; nothing here raises for an unreachable service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lakehouse.config import SourceConfig
from lakehouse.errors import SourceError
from lakehouse.sources.pubsub.backlog import (
    Backlog,
    DeadLetters,
    MonitoringClient,
    read_backlog,
    read_dead_letters,
)
from lakehouse.sources.pubsub.client import PubSubClient
from lakehouse.sources.pubsub.source import monitoring_endpoint, pubsub_options

__all__ = ["SubscriptionHealth", "render_subscription", "subscription_health"]

_NO_MONITORING = (
    "not read: source.pubsub_insecure without source.pubsub_monitoring_endpoint (a local "
    "Pub/Sub fake has no Cloud Monitoring)"
)


@dataclass(frozen=True)
class SubscriptionHealth:
    dataset: str
    subscription: str
    backlog: Backlog
    dead_letter_topic: str | None = None  # None: no dead-letter policy
    max_delivery_attempts: int = 0
    dead_letters: DeadLetters | None = None  # read only when there is a dead-letter topic
    problem: str = ""  # the subscription itself could not be read


def subscription_health(
    source: SourceConfig, dataset: str, now: datetime | None = None, timeout: float = 5.0
) -> SubscriptionHealth:
    """The subscription of ``source`` (the dataset's ``source_config``) as ``status`` shows
    it: one GetSubscription and two or three ListTimeSeries calls, each with ``timeout``."""
    options = pubsub_options(source)
    subscription = options["subscription"]
    endpoint = monitoring_endpoint(source)
    monitoring = MonitoringClient(endpoint or "", source.pubsub_insecure, timeout)
    try:
        backlog = (
            read_backlog(monitoring, subscription, now)
            if endpoint
            else Backlog(subscription, problem=_NO_MONITORING)
        )
        try:
            pubsub = PubSubClient(options["endpoint"], source.pubsub_insecure, timeout)
            try:
                config = pubsub.subscription(subscription)
            finally:
                pubsub.close()
        except SourceError as exc:
            problem = " ".join(str(exc).split())
            return SubscriptionHealth(dataset, subscription, backlog, problem=problem)
        if "dead_letter_policy" not in config:
            return SubscriptionHealth(dataset, subscription, backlog)
        policy = config.dead_letter_policy
        return SubscriptionHealth(
            dataset,
            subscription,
            backlog,
            dead_letter_topic=policy.dead_letter_topic,
            max_delivery_attempts=policy.max_delivery_attempts or 5,  # Pub/Sub's default
            dead_letters=(
                read_dead_letters(monitoring, subscription, now)
                if endpoint
                else DeadLetters(problem=_NO_MONITORING)
            ),
        )
    finally:
        monitoring.close()


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def render_subscription(health: SubscriptionHealth) -> list[str]:
    """Two lines: the backlog, then the dead-letter topic and its count."""
    head = f"pubsub {health.subscription} ({health.dataset})"
    b = health.backlog
    if b.problem:
        lines = [f"{head}: backlog unknown: {b.problem}"]
    else:
        messages = "unknown" if b.messages is None else f"{b.messages}"
        when = b.sampled_ts.strftime("%Y-%m-%d %H:%M UTC") if b.sampled_ts else "-"
        lines = [
            f"{head}: backlog {messages} unacked messages, oldest unacked "
            f"{_age(b.oldest_seconds)} (Cloud Monitoring, {when})"
        ]
    if health.problem:
        lines.append(f"  dead-letter topic unknown: {health.problem}")
    elif health.dead_letter_topic is None:
        lines.append(
            "  dead-letter topic: none (a message the source refuses is delivered again and "
            "again; give the subscription a dead-letter policy)"
        )
    else:
        dead = health.dead_letters or DeadLetters()
        hours = int(dead.window.total_seconds() // 3600)
        count = (
            f"{dead.count} messages dead-lettered in the last {hours} h"
            if dead.count is not None
            else f"dead-lettered count unknown: {dead.problem}"
        )
        lines.append(
            f"  dead-letter topic {health.dead_letter_topic} after "
            f"{health.max_delivery_attempts} attempts: {count}"
        )
    return lines
