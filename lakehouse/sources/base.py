"""What every event source provides to the bronze job."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "AcknowledgingSource",
    "Envelopes",
    "EventSource",
    "NoSessionNeeds",
    "OffsetRange",
    "SkippedFile",
]


@dataclass(frozen=True)
class OffsetRange:
    """The records of one source partition in a micro-batch: first and last offset, count."""

    source: str
    partition: str
    first: int
    last: int
    rows: int


@dataclass(frozen=True)
class SkippedFile:
    """A file of a micro-batch that could not be read (corrupt compression, unreadable
    bytes, no permission): left out of the batch, recorded in ``ops.bad_files``."""

    path: str
    error: str


@dataclass(frozen=True)
class Envelopes:
    """One micro-batch as source envelopes, and its offset ranges when the source knows them
    without reading the batch again (landing counts each file's lines to number them); None
    when the bronze job measures them from ``frame``. ``skipped``: the files of a file
    source that could not be read and are not in ``frame``. ``backlog``: what the source
    still holds back (unacknowledged messages, oldest unacknowledged age in seconds, either
    None when unknown) when it samples it (Pub/Sub); None when it does not."""

    frame: DataFrame
    ranges: tuple[OffsetRange, ...] | None = None
    skipped: tuple[SkippedFile, ...] = ()
    backlog: tuple[int | None, int | None] | None = None


class EventSource(Protocol):
    """One kind of event source, built from ``[source]`` by the registry.

    ``read_stream`` is the I/O: the raw streaming DataFrame of the source. ``to_envelope`` is
    a pure transform of one micro-batch of that DataFrame into the source envelope
    (:data:`lakehouse.sources.envelope.ENVELOPE_COLUMNS`); it never drops a record.
    """

    @property
    def name(self) -> str:
        """The source type, also the ``source`` column of the envelope (landing, kafka, ...)."""
        ...

    def read_stream(self, spark: SparkSession) -> DataFrame:
        """The raw stream of the source."""
        ...

    def to_envelope(self, raw: DataFrame) -> DataFrame:
        """One micro-batch of the raw stream as source envelopes."""
        ...

    def envelopes(self, raw: DataFrame) -> Envelopes:
        """What the bronze job writes of one micro-batch: :meth:`to_envelope`, and the offset
        ranges when the source has them at hand."""
        ...

    def extra_packages(self) -> tuple[str, ...]:
        """Maven coordinates the source needs in ``spark.jars.packages`` (local mode)."""
        ...

    def spark_conf(self) -> dict[str, str]:
        """Other Spark settings the source needs at session start (local mode)."""
        ...

    def lag(self, progress: Mapping[str, Any]) -> int | None:
        """How far behind the source's latest offsets a query is, from its last progress
        (``StreamingQuery.lastProgress``); None when the source does not report it."""
        ...


@runtime_checkable
class AcknowledgingSource(Protocol):
    """A source that must acknowledge what it delivered (Pub/Sub): the bronze job calls
    :meth:`acknowledge` once the batch it last made envelopes of is in bronze and logged."""

    def acknowledge(self, batch_id: int) -> object:
        """Acknowledge the messages of the last batch; a failure is reported, never raised
        (an unacknowledged message comes again)."""
        ...


class NoSessionNeeds:
    """Defaults for a source that needs no jars or settings at session start and reports no
    lag (landing, Pub/Sub Lite)."""

    def extra_packages(self) -> tuple[str, ...]:
        return ()

    def spark_conf(self) -> dict[str, str]:
        return {}

    def lag(self, progress: Mapping[str, Any]) -> int | None:
        return None
