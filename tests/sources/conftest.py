"""Source fixtures: one real Kafka broker and one fake Pub/Sub Lite, one fake Pub/Sub and one
fake Cloud Monitoring server per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sources.fake_monitoring import FakeMonitoring
from tests.sources.fake_pubsub import FakePubSub
from tests.sources.fake_pubsublite import FakePubSubLite
from tests.sources.kafka_broker import KafkaBroker, start_broker


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    broker = start_broker(tmp_path_factory.mktemp("kafka"))
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def pubsublite() -> Iterator[FakePubSubLite]:
    fake = FakePubSubLite()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def pubsub() -> Iterator[FakePubSub]:
    fake = FakePubSub()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def monitoring() -> Iterator[FakeMonitoring]:
    fake = FakeMonitoring()
    fake.start()
    yield fake
    fake.stop()
