"""lakehouse publish: messages keyed by user, and the command against the Pub/Sub Lite and
Pub/Sub fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakehouse.cli import main
from lakehouse.generator import GeneratedEvent
from lakehouse.publish import OutgoingMessage, outgoing
from tests.sources.fake_pubsub import FakePubSub
from tests.sources.fake_pubsublite import FakePubSubLite

SUB = "projects/p/locations/us-central1/subscriptions/s"
TOPIC = "projects/p/locations/us-central1/topics/t"


def test_messages_are_keyed_by_user_and_carry_the_event_time() -> None:
    good = GeneratedEvent(
        b'{"event_id":"e1","user_id":"usr_7","event_ts":"2026-11-23T08:00:00.000Z"}',
        "good",
        "e1",
        "silver",
        None,
    )
    broken = GeneratedEvent(b'{"event_id":"e2","us', "malformed_json", None, "quarantine", "x")
    assert outgoing(good) == OutgoingMessage(
        key=b"usr_7",
        value=good.line,
        attributes={"producer": "lakehouse-publish", "event_ts": "2026-11-23T08:00:00.000Z"},
        event_ts=datetime(2026, 11, 23, 8, tzinfo=UTC),
    )
    assert outgoing(broken) == OutgoingMessage(
        None, broken.line, {"producer": "lakehouse-publish"}, None
    )


@pytest.fixture
def fake() -> Iterator[FakePubSubLite]:
    server = FakePubSubLite()
    server.start()
    server.create_topic(TOPIC, 2)
    server.create_subscription(SUB, TOPIC)
    yield server
    server.stop()


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoint: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAKEHOUSE_SOURCE_PUBSUBLITE_ENDPOINT", endpoint)
    monkeypatch.setenv("LAKEHOUSE_SOURCE_PUBSUBLITE_INSECURE", "true")


def test_publish_to_pubsublite(
    fake: FakePubSubLite,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _env(monkeypatch, tmp_path, fake.endpoint)
    monkeypatch.setenv("LAKEHOUSE_SOURCE_PUBSUBLITE_SUBSCRIPTION", SUB)
    assert main(["publish", "--to", "pubsublite", "--events", "25", "--seed", "1"]) == 0
    assert "published 25 events to Pub/Sub Lite" in capsys.readouterr().out
    offsets = fake.offsets(TOPIC)
    assert sum(len(o) for o in offsets.values()) == 25
    assert all(o == list(range(len(o))) for o in offsets.values())


def test_publish_errors_are_one_line(
    fake: FakePubSubLite,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _env(monkeypatch, tmp_path, fake.endpoint)
    assert main(["publish", "--to", "pubsublite"]) == 2
    assert capsys.readouterr().err == (
        "lakehouse: error: publish --to pubsublite: give --topic, or "
        "source.pubsublite_subscription to publish to its topic\n"
    )
    monkeypatch.setenv("LAKEHOUSE_SOURCE_PUBSUBLITE_SUBSCRIPTION", SUB + "-gone")
    assert main(["publish", "--to", "pubsublite"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lakehouse: error: Pub/Sub Lite subscription ") and "not found" in err
    assert err.count("\n") == 1


def test_publish_to_pubsub_with_the_user_as_ordering_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = FakePubSub()
    server.start()
    try:
        server.create_topic("projects/p/topics/t")
        server.create_subscription("projects/p/subscriptions/s", "projects/p/topics/t")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("LAKEHOUSE_SOURCE_PUBSUB_ENDPOINT", server.endpoint)
        monkeypatch.setenv("LAKEHOUSE_SOURCE_PUBSUB_INSECURE", "true")
        assert main(["publish", "--to", "pubsub"]) == 2
        assert capsys.readouterr().err == (
            "lakehouse: error: publish --to pubsub: give --topic, or "
            "source.pubsub_subscription to publish to its topic\n"
        )
        monkeypatch.setenv("LAKEHOUSE_SOURCE_PUBSUB_SUBSCRIPTION", "projects/p/subscriptions/s")
        args = ["publish", "--to", "pubsub", "--events", "20", "--seed", "1", "--bad-share", "0"]
        assert main(args) == 0
        assert "published 20 events to Pub/Sub" in capsys.readouterr().out
        sent = [m.message for m in server.messages("projects/p/subscriptions/s")]
        assert len(sent) == 20
        for message in sent:
            line = json.loads(bytes(message.data))
            assert message.ordering_key == line["user_id"]
            assert dict(message.attributes) == {
                "producer": "lakehouse-publish",
                "event_ts": line["event_ts"],
            }
    finally:
        server.stop()
