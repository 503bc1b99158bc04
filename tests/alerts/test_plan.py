"""Which messages a pass sends, from the alerts and the rows of ops.notifications (pure):
open once per finding and destination, resolved once after a sent open when the finding is
gone, the rate limit per destination (counting what any process sent in the window),
failed messages tried again up to max_deliveries, stale claims taken over. And the
[alerts] section: secrets only from the environment. No Spark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.alerts.findings import Scope
from lakehouse.alerts.model import Alert, notification_id
from lakehouse.alerts.notify import plan
from lakehouse.alerts.settings import AlertsConfig, Destination
from lakehouse.alerts.state import CLAIM_TIMEOUT, Message, Stored
from lakehouse.config import load_config
from lakehouse.errors import ConfigError

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HOOK = Destination(name="hook", type="webhook", url_env="HOOK_URL")
CHAT = Destination(name="chat", type="slack", url_env="CHAT_URL")
SETTINGS = AlertsConfig(destinations=(HOOK, CHAT), rate_limit=2, max_deliveries=3)


def _alert(n: int, dataset: str = "events", job: str = "silver", kind: str = "anomaly") -> Alert:
    return Alert(
        finding_id=f"f{n}",
        kind=kind,
        severity="critical",
        dataset=dataset,
        table_name="silver.events",
        job=job,
        batch_id=n,
        observed="rows = 2",
        expected="rows in 100 .. 200",
        detail="",
        detected_ts=NOW - timedelta(minutes=100 - n),
    )


def _row(
    alert: Alert,
    event: str,
    dest: str,
    status: str,
    *,
    sent_minutes_ago: float | None = None,
    updated_minutes_ago: float = 1,
    deliveries: int = 1,
) -> Stored:
    sent = None if sent_minutes_ago is None else NOW - timedelta(minutes=sent_minutes_ago)
    return Stored(
        notification_id=notification_id(alert.finding_id, event, dest),
        finding_id=alert.finding_id,
        event=event,
        destination=dest,
        status=status,
        attempts=deliveries,
        deliveries=deliveries,
        updated_ts=NOW - timedelta(minutes=updated_minutes_ago),
        sent_ts=sent,
        alert=alert,
    )


def _ids(messages: Sequence[Message]) -> list[tuple[str, str, str]]:
    return [(m.alert.finding_id, m.event, m.destination) for m in messages]


def test_new_findings_open_once_per_destination_within_the_rate_limit() -> None:
    alerts = [_alert(1), _alert(2), _alert(3)]
    send, defer = plan(alerts, [], SETTINGS, Scope(), NOW)
    assert _ids(send) == [
        ("f1", "open", "hook"),
        ("f2", "open", "hook"),
        ("f1", "open", "chat"),
        ("f2", "open", "chat"),
    ]
    assert _ids(defer) == [("f3", "open", "hook"), ("f3", "open", "chat")]


def test_the_rate_limit_counts_what_was_sent_in_the_window_by_any_process() -> None:
    a1, a2, a3 = _alert(1), _alert(2), _alert(3)
    state = [
        _row(a1, "open", "hook", "sent", sent_minutes_ago=10),  # in the window
        _row(a2, "open", "hook", "sent", sent_minutes_ago=61),  # out of it
        _row(a1, "open", "chat", "sent", sent_minutes_ago=10),
        _row(a2, "open", "chat", "sent", sent_minutes_ago=10),
        _row(a3, "open", "chat", "deferred", deliveries=0),
    ]
    send, defer = plan([a1, a2, a3], state, SETTINGS, Scope(), NOW)
    assert _ids(send) == [("f3", "open", "hook")]
    assert _ids(defer) == [("f3", "open", "chat")]
    assert defer[0].previous == state[-1]


def test_a_closed_finding_is_resolved_where_its_open_message_went() -> None:
    gone, still = _alert(1), _alert(2)
    other_stream = _alert(3, job="gold")
    state = [
        _row(gone, "open", "hook", "sent", sent_minutes_ago=90),
        _row(gone, "open", "chat", "given_up", deliveries=3),  # never told there: no resolve
        _row(still, "open", "hook", "sent", sent_minutes_ago=90),
        _row(still, "open", "chat", "sent", sent_minutes_ago=90),
        _row(other_stream, "open", "hook", "sent", sent_minutes_ago=90),
    ]
    send, defer = plan([still], state, SETTINGS, Scope("events", "silver"), NOW)
    # the gold stream's finding is not this stream's pass to judge
    assert _ids(send) == [("f1", "resolved", "hook")] and defer == []
    everything, _ = plan([still], state, SETTINGS, Scope(), NOW)
    assert _ids(everything) == [("f1", "resolved", "hook"), ("f3", "resolved", "hook")]
    resolved = [*state, _row(gone, "resolved", "hook", "sent", sent_minutes_ago=1)]
    assert plan([still], resolved, SETTINGS, Scope("events", "silver"), NOW) == ([], [])


def test_a_stream_pass_does_not_judge_stalls() -> None:
    stalled = _alert(1, kind="stalled")
    state = [_row(stalled, "open", "hook", "sent", sent_minutes_ago=5)]
    assert plan([], state, SETTINGS, Scope("events", "silver"), NOW) == ([], [])
    send, _ = plan([], state, SETTINGS, Scope(), NOW)
    assert _ids(send) == [("f1", "resolved", "hook")]


def test_failed_messages_are_tried_again_until_max_deliveries_and_stale_claims_taken_over() -> None:
    alerts = [_alert(n) for n in range(1, 6)]
    one = AlertsConfig(destinations=(HOOK,), max_deliveries=3)
    state = [
        _row(alerts[0], "open", "hook", "failed", deliveries=2),  # again
        _row(alerts[1], "open", "hook", "failed", deliveries=3),  # enough
        _row(alerts[2], "open", "hook", "claimed", updated_minutes_ago=1),  # held now
        _row(
            alerts[3],
            "open",
            "hook",
            "claimed",
            updated_minutes_ago=CLAIM_TIMEOUT.total_seconds() / 60 + 1,
        ),  # its pass died
        _row(alerts[4], "open", "hook", "sent", sent_minutes_ago=1),
    ]
    send, defer = plan(alerts, state, one, Scope(), NOW)
    assert _ids(send) == [("f1", "open", "hook"), ("f4", "open", "hook")] and defer == []
    assert [m.previous for m in send] == [state[0], state[3]]


TOML = """
[alerts]
rate_limit = 5
[[alerts.destinations]]
name = "oncall"
type = "smtp"
host = "smtp.example.com"
port = 587
starttls = true
username = "alerts"
password_env = "SMTP_PASSWORD"
sender = "lakehouse@example.com"
to = ["oncall@example.com"]
[[alerts.destinations]]
name = "chat"
type = "slack"
url_env = "CHAT_URL"
"""


def test_the_alerts_section(tmp_path: Path) -> None:
    file = tmp_path / "lakehouse.toml"
    file.write_text(TOML)
    alerts = load_config(file, env={"LAKEHOUSE_ALERTS_RATE_LIMIT": "7"}).alerts
    assert alerts.rate_limit == 7 and alerts.active
    assert alerts.destinations == (
        Destination(
            name="oncall",
            type="smtp",
            host="smtp.example.com",
            port=587,
            starttls=True,
            username="alerts",
            password_env="SMTP_PASSWORD",
            sender="lakehouse@example.com",
            to=("oncall@example.com",),
        ),
        Destination(name="chat", type="slack", url_env="CHAT_URL"),
    )
    assert alerts.destinations[0].secret({"SMTP_PASSWORD": "pw"}) == "pw"
    with pytest.raises(ConfigError, match="environment variable CHAT_URL is not set"):
        alerts.destinations[1].secret({})
    assert not AlertsConfig().active  # no destinations: nothing to tell


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            'url = "https://hooks.example.com/T0/B0/x"',
            "url must not be written in the configuration",
        ),
        ('password = "hunter2"', "put it in an environment variable and name it with password_env"),
        ('colour = "red"', "unknown key\\(s\\) 'colour'"),
        ('url_env = "not a name"', "is not an environment variable name"),
    ],
)
def test_secrets_and_bad_keys_are_refused(tmp_path: Path, extra: str, message: str) -> None:
    file = tmp_path / "lakehouse.toml"
    file.write_text(f'[[alerts.destinations]]\nname = "x"\ntype = "webhook"\n{extra}\n')
    with pytest.raises(ConfigError, match=message):
        load_config(file, env={})


def test_a_destination_needs_what_its_type_needs() -> None:
    with pytest.raises(ConfigError, match="choose one of slack, webhook, smtp"):
        Destination(name="x", type="pager")
    with pytest.raises(ConfigError, match="needs the name of the environment variable"):
        Destination(name="x", type="slack")
    with pytest.raises(ConfigError, match="needs host, sender and to"):
        Destination(name="x", type="smtp", host="h")
    with pytest.raises(ConfigError, match="name\\(s\\) x used twice"):
        AlertsConfig(destinations=(HOOK.__class__(name="x", type="webhook", url_env="A"),) * 2)
