"""The source envelope every source produces, before bronze adds its ingest columns."""

from __future__ import annotations

__all__ = ["ENVELOPE_COLUMNS"]

# source, partition and offset are the coordinates of an event at its source: together
# they identify one delivery, so a replay from bronze or a retried batch can be recognised.
ENVELOPE_COLUMNS = (
    "source",
    "partition",
    "offset",
    "key",
    "payload",
    "attributes",
    "publish_ts",
    "source_event_ts",
)
