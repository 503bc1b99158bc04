"""``lakehouse trace`` and the report's lineage graph on one small lake (two landing files
run once through bronze, silver and gold with Trigger.AvailableNow, then one subject
erased): every hop of an event in silver, of a quarantined one and of an erased one, and the
batches and source offset ranges of a gold row, against expectations built by hand."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from lakehouse.cli import main
from lakehouse.lineage.event import trace_event
from lakehouse.lineage.ops_reads import BatchRef
from lakehouse.lineage.render import render_event
from lakehouse.platform import DatasetTables, load_platform
from lakehouse.privacy.keys import load_key
from lakehouse.privacy.pseudonymize import pseudonym
from lakehouse.replay import parse_selection, replay
from tests.conftest import register_lake
from tests.lineage.lake import ERASURE, Lake, build_lake

pytestmark = pytest.mark.slow

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    built = build_lake(spark, tmp_path_factory.mktemp("traced"))
    yield built
    register_lake(spark, built.config)


@pytest.fixture
def events(spark: SparkSession, lake: Lake) -> DatasetTables:
    register_lake(spark, lake.config)  # another module's lake may have the table names
    return load_platform(lake.config, spark).dataset("events")


def _cli(lake: Lake, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(lake.toml), *args])
    out, err = capsys.readouterr()
    return code, out, err


def _ts(lake: Lake, minute: int, second: int = 0) -> datetime:
    return lake.hour.replace(tzinfo=None) + timedelta(minutes=minute, seconds=second)


def _batch(ref: BatchRef | dict[str, Any]) -> tuple[Any, ...]:
    """A batch without its finish time (the only value a test cannot know)."""
    r = ref if isinstance(ref, dict) else ref.__dict__
    return (r["table"], r["job"], r["batch_id"], r["version"], r["source_offsets"])


def _offsets(lake: Lake, **files: list[int]) -> dict[str, list[int]]:
    return {f"landing/{lake.file(name + '.jsonl')}": bounds for name, bounds in files.items()}


def test_an_event_in_silver_has_every_hop(lake: Lake, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(lake, capsys, "trace", "--event-id", "e1", "--json")
    assert code == 0
    [trace] = json.loads(out)
    assert (trace["dataset"], trace["event_id"], trace["status"]) == ("events", "e1", "silver")
    assert [
        (d["source"], d["partition"], d["offset"], _batch(d["bronze_batch"]), d["outcome"])
        for d in trace["deliveries"]
    ] == [
        (
            "landing",
            lake.file("a.jsonl"),
            0,
            ("bronze.events", "bronze-landing", 0, 1, _offsets(lake, a=[0, 3])),
            "silver",
        )
    ]
    user = pseudonym(load_key(lake.config.privacy).value, "u1")
    shown = {k: trace["silver"][k] for k in ("event_id", "event_type", "event_ts", "user_id")}
    assert shown == {
        "event_id": "e1",
        "event_type": "page_view",
        "event_ts": str(_ts(lake, 1, 5)),
        "user_id": user,
    }
    assert (trace["silver"]["country"], trace["silver"]["_batch_id"]) == ("PL", 0)
    assert '"u1"' not in out  # the raw subject id never: silver holds its pseudonym
    assert _batch(trace["silver_batch"]) == (
        "silver.events",
        "silver",
        0,
        1,
        _offsets(lake, a=[0, 3], b=[0, 2]),
    )
    day = str(lake.hour.date())
    gold = [
        (g["table"], g["keys"], {k: v for k, v in g["row"].items() if k != "updated_ts"})
        for g in trace["gold"]
    ]
    assert gold == [
        # the erasure of u5 leaves gold's aggregates (no personal data) as they were
        (
            "gold.daily_active_users",
            {"event_date": day},
            {"event_date": day, "active_users": 5, "events": 6},
        ),
        (
            "gold.events_per_minute",
            {"window_start": str(_ts(lake, 1)), "event_type": "page_view", "country": "PL"},
            {
                "window_start": str(_ts(lake, 1)),
                "window_end": str(_ts(lake, 2)),
                "event_type": "page_view",
                "country": "PL",
                "events": 3,
                "users": 3,
            },
        ),
    ]
    assert trace["not_counted"] == ["gold.hourly_revenue"]  # a page view has no revenue
    assert (trace["quarantine"], trace["erasures"], trace["replays"]) == ([], [], [])


def test_a_purchase_counts_in_its_revenue_row(
    spark: SparkSession, lake: Lake, events: DatasetTables
) -> None:
    trace = trace_event(spark, lake.config, events, "e4")
    assert [
        (g.table, g.keys, g.row and g.row.get("revenue", g.row.get("events"))) for g in trace.gold
    ] == [
        ("gold.daily_active_users", {"event_date": lake.hour.date()}, 6),
        (
            "gold.events_per_minute",
            {"window_start": _ts(lake, 2), "event_type": "purchase", "country": "PL"},
            1,
        ),
        ("gold.hourly_revenue", {"hour_start": _ts(lake, 0), "currency": "EUR"}, Decimal("10.50")),
    ]
    assert trace.not_counted == []
    text = render_event(trace)
    assert f"source      landing file {lake.file('a.jsonl')} line 4" in text
    assert "bronze      batch 0 (bronze-landing), bronze.events version 1" in text
    assert "silver      batch 0 (silver), silver.events version 1" in text


def test_a_quarantined_event_shows_its_reasons(
    spark: SparkSession, lake: Lake, events: DatasetTables
) -> None:
    trace = trace_event(spark, lake.config, events, "e6")
    assert trace.status == "quarantined"
    assert [
        (d.partition, d.offset, _batch(d.bronze_batch), d.outcome) for d in trace.deliveries
    ] == [
        (
            lake.file("b.jsonl"),
            1,
            ("bronze.events", "bronze-landing", 1, 2, _offsets(lake, b=[0, 2])),
            "quarantined",
        )
    ]
    assert [(q["reasons"], _batch(q["silver_batch"]), q["offset"]) for q in trace.quarantine] == [
        (
            ["invalid_value:event_type"],
            (
                "quarantine.silver_events",
                "silver",
                0,
                1,
                _offsets(lake, a=[0, 3], b=[0, 2]),
            ),
            1,
        )
    ]
    assert (trace.silver, trace.gold, trace.not_counted) == (None, [], [])
    assert "reasons: invalid_value:event_type" in render_event(trace)


def test_an_erased_event_is_reported_erased_not_unknown(
    spark: SparkSession, lake: Lake, events: DatasetTables, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = trace_event(spark, lake.config, events, "e7")
    assert (trace.status, trace.deliveries, trace.silver, trace.quarantine) == (
        "erased",
        [],
        None,
        [],
    )
    assert {e["request_id"] for e in trace.erasures} == {ERASURE}
    assert {"bronze.events", "silver.events"} <= {e["table"] for e in trace.erasures}
    assert len(trace.notes) == 1 and trace.notes[0].startswith(
        f"erased from silver.events by request {ERASURE} at "
    )
    # an id the lake never had: not found (exit 1), naming the erasures that might explain it
    code, out, _ = _cli(lake, capsys, "trace", "--event-id", "never-sent")
    assert code == 1
    assert out.splitlines()[0] == "event never-sent of dataset events: not found"
    assert "may have been erased" in out


def test_a_gold_row_gives_its_silver_batches_and_source_offset_ranges(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    where = (
        f"event_type = 'page_view' AND country = 'PL' AND window_start = TIMESTAMP '{_ts(lake, 1)}'"
    )
    code, out, _ = _cli(
        lake, capsys, "trace", "--table", "gold.events_per_minute", "--where", where, "--json"
    )
    assert code == 0
    [trace] = json.loads(out)
    assert (trace["table"], trace["silver_rows"], trace["window_rows"]) == (
        "gold.events_per_minute",
        3,  # e1, e2, e5; e3 is a click in the same minute
        4,
    )
    assert [(_batch(b), n) for b, n in trace["silver_batches"]] == [
        (("silver.events", "silver", 0, 1, _offsets(lake, a=[0, 3], b=[0, 2])), 3)
    ]
    assert [(_batch(b), n) for b, n in trace["bronze_batches"]] == [
        (("bronze.events", "bronze-landing", 0, 1, _offsets(lake, a=[0, 3])), 2),
        (("bronze.events", "bronze-landing", 1, 2, _offsets(lake, b=[0, 2])), 1),
    ]
    assert trace["source_ranges"] == [
        {"source": "landing", "partition": lake.file("a.jsonl"), "first": 0, "last": 1, "rows": 2},
        {"source": "landing", "partition": lake.file("b.jsonl"), "first": 0, "last": 0, "rows": 1},
    ]
    code, out, _ = _cli(
        lake, capsys, "trace", "--table", "gold.events_per_minute", "--where", where
    )
    assert code == 0
    assert f"  source       landing file {lake.file('a.jsonl')} lines 1..2: 2 row(s)" in out
    assert f"  source       landing file {lake.file('b.jsonl')} lines 1..1: 1 row(s)" in out


@pytest.mark.parametrize(
    "case",
    [
        ("gold.events_per_minute", "nope = 1", "--where 'nope = 1': [UNRESOLVED_COLUMN"),
        (
            "gold.events_per_minute",
            "1 = 1; DROP TABLE gold.events_per_minute",
            "query failed: [PARSE_SYNTAX_ERROR]",
        ),
        ("gold.events_per_minute", "events < 0", "no row of gold.events_per_minute matches"),
        ("gold.nope", "1 = 1", "--table: unknown gold table 'gold.nope'; the gold tables are"),
    ],
)
def test_a_bad_gold_selection_is_one_line(
    spark: SparkSession,
    lake: Lake,
    capsys: pytest.CaptureFixture[str],
    case: tuple[str, str, str],
) -> None:
    table, where, message = case
    code, out, err = _cli(lake, capsys, "trace", "--table", table, "--where", where)
    assert (code, out, len(err.splitlines())) == (2, "", 1)
    assert err.startswith(f"lakehouse: error: {message}")
    assert spark.table("gold.events_per_minute").count() == 4  # nothing dropped


def test_the_report_draws_the_lineage_graph(
    lake: Lake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = _cli(lake, capsys, "report", "--out", str(tmp_path))
    assert code == 0
    page = (tmp_path / "index.html").read_text()
    match = re.search(r'<svg[^>]*data-chart="lineage".*?</svg>', page, re.DOTALL)
    assert match is not None and "<h2>Lineage</h2>" in page
    svg = ET.fromstring(match.group(0))
    nodes = {g.get("data-node") for g in svg.iter(f"{SVG}g") if g.get("class") == "node"}
    assert nodes == {
        "source:events",
        "bronze.events",
        "silver.events",
        "quarantine.silver_events",
        "gold.daily_active_users",
        "gold.events_per_minute",
        "gold.hourly_revenue",
    }
    edges = {
        (g.get("data-source"), g.get("data-target")): (
            g.get("data-batch"),
            g.get("data-rows"),
            g.find(f"{SVG}text").text,  # type: ignore[union-attr]
        )
        for g in svg.iter(f"{SVG}g")
        if g.get("class") == "edge"
    }
    gold = ("0", "6", "batch 0 · 6 rows")  # the gold batch's rows over its three tables
    assert edges == {
        ("source:events", "bronze.events"): ("1", "3", "batch 1 · 3 rows"),
        ("bronze.events", "silver.events"): ("0", "6", "batch 0 · 6 rows"),
        ("bronze.events", "quarantine.silver_events"): ("0", "1", "batch 0 · 1 rows"),
        ("silver.events", "gold.daily_active_users"): gold,
        ("silver.events", "gold.events_per_minute"): gold,
        ("silver.events", "gold.hourly_revenue"): gold,
    }


def test_a_replay_of_a_quarantined_event_is_on_its_trace(
    spark: SparkSession, lake: Lake, events: DatasetTables
) -> None:
    """A real replay of e6's quarantine row under the same contract refuses it again: the
    trace names the replay, who asked, and the delivery's new outcome. (Last in the module:
    the replay rewrites the quarantine row's reasons.)"""
    platform = load_platform(lake.config, spark)
    selection = parse_selection(platform, "quarantine.silver_events", reason="^invalid_value")
    done = replay(spark, lake.config, events, selection, requested_by="tester")
    assert (done.chosen, done.promoted, done.refused) == (1, 0, 1)
    trace = trace_event(spark, lake.config, events, "e6")
    assert [{k: v for k, v in r.items() if k != "replayed_ts"} for r in trace.replays] == [
        {
            "replay_id": done.replay_id,
            "requested_by": "tester",
            "status": "done",
            "source": "landing",
            "partition": lake.file("b.jsonl"),
            "offset": 1,
            "outcome": "refused",
            "reasons": ["invalid_value:event_type"],
        }
    ]
    assert f"  replay      {done.replay_id} by tester (done) at " in render_event(trace)
    assert "offset 1 refused (invalid_value:event_type)" in render_event(trace)
    untouched = trace_event(spark, lake.config, events, "e1")
    assert untouched.replays == []
    assert "  replays     none chose it" in render_event(untouched)
