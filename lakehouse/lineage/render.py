"""A trace as text for a person, or as JSON for a machine (``--json``)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from lakehouse.display import format_value
from lakehouse.lineage.event import EventTrace
from lakehouse.lineage.gold_row import GoldRowTrace
from lakehouse.lineage.ops_reads import BatchRef
from lakehouse.sources.landing import LANDING_SOURCE

__all__ = ["coordinates", "render_event", "render_gold", "to_json"]


def to_json(traces: list[EventTrace] | list[GoldRowTrace]) -> str:
    """The traces as a JSON array (timestamps and decimals as strings)."""
    return json.dumps([dataclasses.asdict(t) for t in traces], default=str, indent=2)


def coordinates(source: str, partition: str, offset: int) -> str:
    """A landing file and its line (1-based), or a source partition and offset."""
    if source == LANDING_SOURCE:
        return f"landing file {partition} line {offset + 1}"
    return f"{source} partition {partition} offset {offset}"


def _batch(ref: BatchRef | None) -> str:
    if ref is None:
        return "-"
    if ref.version is None:
        return f"batch {ref.batch_id} (not in ops.batch_log)"
    when = f", {format_value(ref.finished_ts)}" if ref.finished_ts else ""
    return f"batch {ref.batch_id} ({ref.job}), {ref.table} version {ref.version}{when}"


def _pairs(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in values.items())


def _offsets(ref: BatchRef) -> str:
    if not ref.source_offsets:
        return "no offsets logged"
    return "; ".join(
        f"{part} {bounds[0]}..{bounds[1]}" if bounds else part
        for part, bounds in ref.source_offsets.items()
    )


def render_event(trace: EventTrace) -> str:
    """Every hop of one event, a few lines each."""
    out = [f"event {trace.event_id} of dataset {trace.dataset}: {trace.status}"]
    for d in trace.deliveries:
        out.append(f"  source      {coordinates(d.source, d.partition, d.offset)}")
        out.append(f"  bronze      {_batch(d.bronze_batch)} -> {d.outcome}")
    if trace.silver is not None:
        out.append(f"  silver      {_batch(trace.silver_batch)}")
        out.append(f"              {_pairs(trace.silver)}")
    for q in trace.quarantine:
        out.append(f"  quarantine  {_batch(q['silver_batch'])}, {format_value(q['quarantine_ts'])}")
        out.append(f"              reasons: {'; '.join(q['reasons'])}")
    for hit in trace.gold:
        row = "not written yet" if hit.row is None else _pairs(hit.row)
        out.append(f"  gold        {hit.table} [{_pairs(hit.keys)}]: {row}")
    for table in trace.not_counted:
        out.append(f"  gold        {table}: not counted (its query leaves the event out)")
    if not trace.erasures and trace.status != "not found":
        out.append("  erasures    none touched it")
    for e in trace.erasures:
        out.append(
            f"  erasure     request {e['request_id']} deleted {e['rows_deleted']} row(s) of "
            f"{e['table']} at {format_value(e['erased_ts'])} (version {e['version_before']} -> "
            f"{e['version_after']})"
        )
    if not trace.replays and trace.deliveries:
        out.append("  replays     none chose it")
    for r in trace.replays:
        outcome = r["outcome"]
        if r["reasons"]:
            outcome += f" ({'; '.join(r['reasons'])})"
        out.append(
            f"  replay      {r['replay_id']} by {r['requested_by']} ({r['status']}) at "
            f"{format_value(r['replayed_ts'])}: offset {r['offset']} {outcome}"
        )
    out += [f"  note        {n}" for n in trace.notes]
    return "\n".join(out)


def render_gold(trace: GoldRowTrace) -> str:
    """What one gold row was computed from."""
    out = [
        f"{trace.table} [{_pairs(trace.keys)}] of dataset {trace.dataset}: {_pairs(trace.row)}",
        f"  silver rows  {trace.silver_rows} (of {trace.window_rows} in its window)",
    ]
    for ref, rows in trace.silver_batches:
        out.append(f"  silver       {_batch(ref)}: {rows} row(s)")
    for ref, rows in trace.bronze_batches:
        out.append(f"  bronze       {_batch(ref)}: {rows} row(s); logged {_offsets(ref)}")
    for r in trace.source_ranges:
        if r.source == LANDING_SOURCE:
            span = f"landing file {r.partition} lines {r.first + 1}..{r.last + 1}"
        else:
            span = f"{r.source} partition {r.partition} offsets {r.first}..{r.last}"
        out.append(f"  source       {span}: {r.rows} row(s)")
    return "\n".join(out)
