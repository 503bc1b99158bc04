"""Delivering one message over real sockets on 127.0.0.1: a Slack-compatible and a generic
JSON webhook (http.server), e-mail (aiosmtpd) plain, with login, and with STARTTLS and
login; retries with backoff; a closed port; a secret that is not set. No Spark."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakehouse.alerts.deliver import Delivery, deliver
from lakehouse.alerts.model import Alert
from lakehouse.alerts.settings import AlertsConfig, Destination
from tests.alerts.servers import closed_port, http_receiver, self_signed, smtp_receiver

ALERT = Alert(
    finding_id="f1",
    kind="blocked",
    severity="critical",
    dataset="events",
    table_name="silver.events",
    job="silver",
    batch_id=7,
    observed="expect_table_row_count_to_be_between: observed 0",
    expected='expect_table_row_count_to_be_between {"min_value": 1}',
    detail="1 batch(es) blocked since batch 7",
    detected_ts=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
)
SETTINGS = AlertsConfig(attempts=3, backoff_seconds=1, timeout_seconds=5)


def test_slack_and_generic_webhooks_receive_the_message() -> None:
    slack = Destination(name="chat", type="slack", url_env="CHAT_URL")
    hook = Destination(name="hook", type="webhook", url_env="HOOK_URL")
    with http_receiver() as chat, http_receiver() as receiver:
        env = {"CHAT_URL": chat.url, "HOOK_URL": receiver.url}
        assert deliver(slack, ALERT, "open", SETTINGS, env=env) == Delivery(True, 1)
        assert deliver(hook, ALERT, "resolved", SETTINGS, env=env) == Delivery(True, 1)
    assert chat.paths == ["/hook"]
    text = chat.bodies[0]["text"]
    assert text.startswith("*[lakehouse] CRITICAL batch blocked: events/silver (silver.events)*")
    for part in (
        "dataset:  events",
        "batch:    7",
        "observed: expect_table_row_count",
        "look closer: lakehouse status; lakehouse sql",
    ):
        assert part in text
    assert receiver.bodies == [
        {
            "source": "lakehouse",
            "event": "resolved",
            "finding_id": "f1",
            "kind": "blocked",
            "severity": "critical",
            "dataset": "events",
            "table": "silver.events",
            "job": "silver",
            "batch_id": 7,
            "observed": ALERT.observed,
            "expected": ALERT.expected,
            "detail": ALERT.detail,
            "detected_ts": "2026-12-01T10:00:00+00:00",
            "command": ALERT.command(),
            "summary": "[lakehouse] RESOLVED batch blocked: events/silver (silver.events)",
        }
    ]


def test_a_failing_receiver_is_retried_with_backoff() -> None:
    hook = Destination(name="hook", type="webhook", url_env="HOOK_URL")
    waits: list[float] = []
    with http_receiver(fail_first=2) as receiver:
        got = deliver(
            hook, ALERT, "open", SETTINGS, env={"HOOK_URL": receiver.url}, sleep=waits.append
        )
    assert got == Delivery(True, 3)
    assert waits == [1, 2]
    assert len(receiver.bodies) == 1


def test_a_closed_port_fails_after_the_bounded_tries() -> None:
    hook = Destination(name="hook", type="webhook", url_env="HOOK_URL")
    mail = Destination(
        name="mail",
        type="smtp",
        host="127.0.0.1",
        port=closed_port(),
        sender="a@x.test",
        to=("b@x.test",),
    )
    env = {"HOOK_URL": f"http://127.0.0.1:{closed_port()}/hook"}
    waits: list[float] = []
    for dest in (hook, mail):
        got = deliver(dest, ALERT, "open", SETTINGS, env=env, sleep=waits.append)
        assert not got.sent
        assert got.attempts == 3
        assert "refused" in (got.error or "").lower()
    assert waits == [1, 2, 1, 2]


def _no_wait(seconds: float) -> None:
    raise AssertionError(f"waited {seconds} s: a missing secret is not retried")


def test_a_secret_that_is_not_set_is_not_retried() -> None:
    hook = Destination(name="hook", type="webhook", url_env="HOOK_URL")
    got = deliver(hook, ALERT, "open", SETTINGS, env={}, sleep=_no_wait)
    assert got == Delivery(
        False, 1, "alerts destination 'hook': environment variable HOOK_URL is not set"
    )


def test_mail_plain() -> None:
    with smtp_receiver() as server:
        dest = Destination(
            name="mail",
            type="smtp",
            host="127.0.0.1",
            port=server.port,
            sender="lakehouse@x.test",
            to=("oncall@x.test", "lead@x.test"),
        )
        assert deliver(dest, ALERT, "open", SETTINGS, env={}) == Delivery(True, 1)
    assert server.envelopes == [("lakehouse@x.test", ["oncall@x.test", "lead@x.test"])]
    mail = server.mails[0]
    assert mail["Subject"] == "[lakehouse] CRITICAL batch blocked: events/silver (silver.events)"
    assert mail["To"] == "oncall@x.test, lead@x.test"
    assert "table:    silver.events" in mail.get_content()
    assert server.tls == [False]


def test_mail_with_starttls_and_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test certificate
    with smtp_receiver(user="alerts", password="s3cret", tls=(cert, key)) as server:
        dest = Destination(
            name="mail",
            type="smtp",
            host="127.0.0.1",
            port=server.port,
            starttls=True,
            username="alerts",
            password_env="SMTP_PASSWORD",
            sender="lakehouse@x.test",
            to=("oncall@x.test",),
        )
        assert deliver(dest, ALERT, "open", SETTINGS, env={"SMTP_PASSWORD": "s3cret"}) == Delivery(
            True, 1
        )
        wrong = deliver(
            dest, ALERT, "open", SETTINGS, env={"SMTP_PASSWORD": "nope"}, sleep=lambda s: None
        )
    assert server.logins == ["alerts"]
    assert server.tls == [True]
    assert len(server.mails) == 1
    assert not wrong.sent and "535" in (wrong.error or "")
