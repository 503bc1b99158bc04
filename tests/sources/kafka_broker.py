"""A real Kafka broker for tests: Apache Kafka in KRaft mode (one combined broker and
controller) on 127.0.0.1, started from the jars on Maven Central.

The jars are resolved once with the Ivy jar that pyspark ships and cached under
``~/.cache/lakehouse-tests/ivy``; later runs start offline in a few seconds.
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyspark

from tests.conftest import one_ivy_resolution

__all__ = ["KAFKA_VERSION", "KafkaBroker", "kafka_classpath", "start_broker"]

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"  # the log4j2 of Kafka 4.1.1
CACHE = Path.home() / ".cache" / "lakehouse-tests"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cached(listing: Path) -> list[str] | None:
    """The jars of a classpath listing, when it and every jar it names are there."""
    if listing.is_file():
        jars = listing.read_text().strip().split(":")
        if all(Path(jar).is_file() for jar in jars):
            return jars
    return None


def _resolve(org: str, name: str, version: str) -> list[str]:
    """The jars of ``org:name:version`` with its dependencies. One process resolves at a
    time (the test workers share the cache: :func:`tests.conftest.one_ivy_resolution`); a
    worker that waited finds the listing the other one wrote."""
    listing = CACHE / f"{name}-{version}.classpath"
    CACHE.mkdir(parents=True, exist_ok=True)
    with one_ivy_resolution():
        jars = _cached(listing)
        return jars if jars is not None else _ivy(org, name, version, listing)


def _ivy(org: str, name: str, version: str, listing: Path) -> list[str]:
    ivy = next((Path(pyspark.__file__).parent / "jars").glob("ivy-*.jar"))
    command = ["java", "-jar", str(ivy), "-dependency", org, name, version, "-confs", "default"]
    command += ["-cache", str(CACHE / "ivy"), "-cachepath", str(listing)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0 or not listing.is_file():
        raise RuntimeError(f"resolving {org}:{name}:{version} failed:\n{result.stdout[-2000:]}")
    return listing.read_text().strip().split(":")


def kafka_classpath(version: str = KAFKA_VERSION) -> str:
    """The broker's classpath: ``kafka_2.13`` with its runtime dependencies, and the log4j
    binding the Kafka distribution ships (Maven's dependencies leave it out)."""
    jars = _resolve("org.apache.kafka", "kafka_2.13", version)
    jars += _resolve("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION)
    return ":".join(dict.fromkeys(jars))


@dataclass
class KafkaBroker:
    """A running broker: its bootstrap address and process."""

    bootstrap: str
    process: subprocess.Popen[bytes]
    folder: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def _properties(folder: Path, port: int, controller: int) -> Path:
    path = folder / "server.properties"
    path.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={folder / 'data'}",
                "num.partitions=3",
                "auto.create.topics.enable=true",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "group.initial.rebalance.delay.ms=0",
                "log.segment.bytes=1048576",
                "num.network.threads=2",
                "num.io.threads=2",
                "",
            ]
        )
    )
    return path


def start_broker(folder: Path, timeout: float = 90.0) -> KafkaBroker:
    """Format KRaft storage in ``folder`` and start a broker; return once it accepts
    connections and has logged that it started."""
    classpath = kafka_classpath()
    port, controller = _free_port(), _free_port()
    folder.mkdir(parents=True, exist_ok=True)
    config = _properties(folder, port, controller)
    logging = folder / "log4j2.properties"
    logging.write_text(
        "rootLogger.level=WARN\nrootLogger.appenderRef.out.ref=out\n"
        "appender.out.type=Console\nappender.out.name=out\n"
        "appender.out.layout.type=PatternLayout\nappender.out.layout.pattern=%d %p %c: %m%n\n"
        "logger.server.name=kafka.server.KafkaRaftServer\nlogger.server.level=INFO\n"
    )
    java = [
        "java",
        "-Xms64m",
        "-Xmx384m",
        "-XX:+UseSerialGC",
        f"-Dlog4j2.configurationFile={logging}",
        "-cp",
        classpath,
    ]
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()[:22]
    subprocess.run(
        [*java, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    log = folder / "broker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*java, "kafka.Kafka", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    broker = KafkaBroker(f"127.0.0.1:{port}", process, folder)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Kafka exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        if "Kafka Server started" in log.read_text(errors="replace"):
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                return broker
        time.sleep(0.5)
    text = log.read_text(errors="replace")[-3000:]
    broker.stop()
    raise RuntimeError(f"Kafka did not start in {timeout}s:\n{text}")
