"""lakehouse publish: messages keyed by the subject, and the command against the Pub/Sub Lite
and Pub/Sub fakes (the events dataset, from its contract)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakehouse.cli import main
from lakehouse.publish import OutgoingMessage, outgoing
from tests.product_generator import GeneratorSpec, generate_events
from tests.sources.fake_pubsub import FakePubSub
from tests.sources.fake_pubsublite import FakePubSubLite

REPO = Path(__file__).resolve().parents[1]
SUB = "projects/p/locations/us-central1/subscriptions/s"
TOPIC = "projects/p/locations/us-central1/topics/t"


def test_product_events_are_keyed_by_user_and_carry_the_event_time() -> None:
    events = generate_events(GeneratorSpec(count=400, bad_share=0.3, seed=3))
    good = next(e for e in events if e.kind == "good")
    line = json.loads(good.line)
    assert outgoing(good) == OutgoingMessage(
        key=line["user_id"].encode(),
        value=good.line,
        attributes={"producer": "lakehouse-publish", "event_ts": line["event_ts"]},
        event_ts=datetime.fromisoformat(line["event_ts"].replace("Z", "+00:00")),
    )
    for kind in ("malformed_json", "invalid_utf8"):
        broken = next(e for e in events if e.kind == kind)
        assert outgoing(broken) == OutgoingMessage(
            None, broken.line, {"producer": "lakehouse-publish"}, None
        )
    assert datetime(2000, 1, 1, tzinfo=UTC) < min(
        e.event_time for e in events if e.event_time is not None
    )


@pytest.fixture
def fake() -> Iterator[FakePubSubLite]:
    server = FakePubSubLite()
    server.start()
    server.create_topic(TOPIC, 2)
    server.create_subscription(SUB, TOPIC)
    yield server
    server.stop()


def _datasets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAKEHOUSE_DATASETS_DIR", str(REPO / "datasets"))
    monkeypatch.setenv("LAKEHOUSE_DATASETS_NAMES", "events")
    monkeypatch.setenv("LAKEHOUSE_QUALITY_SUITE_DIR", str(REPO / "expectations"))


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoint: str) -> None:
    _datasets(monkeypatch, tmp_path)
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
    assert "events: published 25 events to Pub/Sub Lite" in capsys.readouterr().out
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


def test_publish_to_pubsub_with_the_subject_as_ordering_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = FakePubSub()
    server.start()
    try:
        server.create_topic("projects/p/topics/t")
        server.create_subscription("projects/p/subscriptions/s", "projects/p/topics/t")
        _datasets(monkeypatch, tmp_path)
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
        assert "events: published 20 events to Pub/Sub" in capsys.readouterr().out
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
