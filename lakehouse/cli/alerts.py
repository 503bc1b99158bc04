"""``lakehouse alerts check`` (one alerting pass; schedule it) and ``alerts test``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from lakehouse.cli.common import Command, Subparsers, session
from lakehouse.config import LakehouseConfig
from lakehouse.errors import ConfigError

__all__ = ["register"]


def register(sub: Subparsers, common: argparse.ArgumentParser) -> dict[str, Command]:
    alerts = sub.add_parser(
        "alerts",
        parents=[common],
        help="tell a person: critical findings, blocked batches, "
        "stalled and failed streams ([alerts] destinations)",
    )
    actions = alerts.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser(
        "check",
        parents=[common],
        help="one pass: send new findings, resolve closed ones (run it every few minutes: "
        "a stalled stream cannot alert itself)",
    )
    actions.add_parser("test", parents=[common], help="send a test message to every destination")
    return {"alerts": cmd_alerts}


def _require_destinations(config: LakehouseConfig) -> None:
    if not config.alerts.destinations:
        raise ConfigError(
            "alerts: no destinations; add [[alerts.destinations]] (type slack, webhook or "
            "smtp) to the configuration"
        )
    if not config.alerts.enabled:
        raise ConfigError("alerts.enabled is false; set it to true to send alerts")


def cmd_alerts(args: argparse.Namespace, config: LakehouseConfig) -> int:
    _require_destinations(config)
    if args.action == "test":
        return _test(config)
    from lakehouse.alerts.notify import check
    from lakehouse.display import format_table

    spark = session(config, "lakehouse-alerts")
    result = check(spark, config)
    if result.contended:
        print("another alerts pass is writing ops.notifications; nothing sent (run it again)")
        return 0
    rows = [[m.event, m.destination, "sent", m.alert.subject(m.event)] for m in result.sent]
    rows += [
        [m.event, m.destination, f"FAILED: {e}", m.alert.subject(m.event)] for m, e in result.failed
    ]
    rows += [
        [m.event, m.destination, "deferred (rate limit)", m.alert.subject(m.event)]
        for m in result.deferred
    ]
    if rows:
        print(format_table(["event", "destination", "outcome", "message"], rows))
    print(
        f"{len(result.open_findings)} open finding(s); {len(result.sent)} message(s) sent, "
        f"{len(result.failed)} failed (recorded in ops.notifications, tried again next pass), "
        f"{len(result.deferred)} deferred by the rate limit"
    )
    return 1 if result.failed else 0


def _test(config: LakehouseConfig) -> int:
    from lakehouse.alerts.deliver import deliver
    from lakehouse.alerts.model import Alert

    alert = Alert(
        finding_id="test",
        kind="anomaly",
        severity="critical",
        dataset=None,
        table_name=None,
        job="alerts-test",
        batch_id=None,
        observed="a test message",
        expected="a test message",
        detail="sent by `lakehouse alerts test`; nothing is wrong",
        detected_ts=datetime.now(UTC),
    )
    failed = 0
    for dest in config.alerts.destinations:
        delivery = deliver(dest, alert, "open", config.alerts)
        outcome = (
            "sent" if delivery.sent else f"FAILED after {delivery.attempts} tries: {delivery.error}"
        )
        failed += not delivery.sent
        print(f"{dest.name} ({dest.type}): {outcome}")
    return 1 if failed else 0
