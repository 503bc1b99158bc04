"""Detectors on explicitly built histories: plain Python, no Spark."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lakehouse.errors import ConfigError, PolicyError
from lakehouse.monitoring.detectors import (
    detect,
    detect_stall,
    ks_distance,
    population_stability_index,
    robust_z,
)
from lakehouse.monitoring.model import BatchMetrics, Finding, rollup_daily
from lakehouse.monitoring.thresholds import QUANTILE_LEVELS, Monitoring

T0 = datetime(2026, 11, 1, tzinfo=UTC)
M = Monitoring(
    null_columns=("device",),
    numeric_columns=("amount",),
    category_columns=("event_type",),
    event_time="event_ts",
    rescued="rescued_data",
)
TYPES = {"page_view": 500, "click": 200, "purchase": 50, "search": 90}


def _normal_sketch(center: float, spread: float) -> tuple[float, ...]:
    from scipy.stats import norm

    return tuple(float(norm.ppf(q, center, spread)) for q in QUANTILE_LEVELS)


def point(i: int, **changes: Any) -> BatchMetrics:
    """Batch ``i`` of a steady hourly stream: about 840 rows, 2 % devices missing."""
    rows = changes.pop("rows", 840 + (i * 7) % 21 - 10)
    base = BatchMetrics(
        table_name="silver.events",
        job="silver",
        batch_id=i,
        batch_ts=T0 + timedelta(hours=i),
        rows=rows,
        rows_in=rows + 10,
        rows_quarantined=10,
        null_rates={"device": 0.02},
        means={"amount": 50.0},
        numeric_counts={"amount": 50},
        quantiles={"amount": _normal_sketch(50, 10)},
        category_counts={"event_type": dict(TYPES)},
        rescued_keys=("app_version",),
        max_event_ts=T0 + timedelta(hours=i) - timedelta(seconds=20),
        event_lag_seconds=20.0,
    )
    return dataclasses.replace(base, **changes)


HISTORY = [point(i) for i in range(24)]
NOW = T0 + timedelta(hours=24, minutes=1)


def findings(current: BatchMetrics, history: list[BatchMetrics] = HISTORY) -> list[Finding]:
    return detect(current, history, M, NOW)


def by_detector(found: list[Finding]) -> dict[tuple[str, str], str]:
    return {(f.detector, f.metric): f.severity for f in found}


def test_a_steady_batch_has_no_finding() -> None:
    assert findings(point(24)) == []


def test_only_freshness_and_new_fields_speak_before_min_history() -> None:
    cold = HISTORY[: M.min_history - 1]
    assert findings(point(24, rows=5, null_rates={"device": 0.9}), cold) == []
    stale = findings(point(24, event_lag_seconds=7200.0), cold)
    assert by_detector(stale) == {("freshness", "event_lag_seconds"): "critical"}
    new = findings(point(24, rescued_keys=("app_version", "coupon")), HISTORY[:1])
    assert by_detector(new) == {("schema_drift", "rescued_data.coupon"): "warning"}
    # the first batch of a table has nothing to compare with
    assert findings(point(0, rescued_keys=("coupon",)), []) == []


def test_volume_off_silences_volume_and_rate_of_change_only() -> None:
    quiet = dataclasses.replace(M, volume=False)
    found = detect(point(24, rows=80, rows_in=90, null_rates={"device": 0.9}), HISTORY, quiet, NOW)
    assert {f.detector for f in found} == {"null_rate", "quarantine_rate"}


def test_volume_drop_is_critical_with_its_expected_range() -> None:
    found = [f for f in findings(point(24, rows=80, rows_in=90)) if f.detector == "volume"]
    assert len(found) == 1
    f = found[0]
    assert f.severity == "critical"
    assert f.observed == 80
    assert f.expected_low is not None and f.expected_high is not None
    assert f.expected_low < 840 < f.expected_high
    assert "robust z" in f.message
    # and the previous batch was ten times larger: a rate-of-change warning
    assert by_detector(findings(point(24, rows=80, rows_in=90)))[("rate_of_change", "rows")] == (
        "warning"
    )


def test_volume_uses_the_hour_of_day_bucket_when_it_has_enough_batches() -> None:
    # three days: 2000 rows at 09:00, 800 at other hours
    history = [point(i, rows=2000 if i % 24 == 9 else 800) for i in range(72)]
    nine = point(72 + 9, rows=2000)
    assert not [f for f in detect(nine, history, M, NOW) if f.detector == "volume"]
    # 2000 rows at 10:00 is anomalous: that bucket holds 800s
    ten = point(72 + 10, rows=2000)
    assert by_detector(detect(ten, history, M, NOW))[("volume", "rows")] == "critical"


def test_small_noise_is_no_volume_anomaly() -> None:
    assert not [f for f in findings(point(24, rows=900)) if f.detector == "volume"]
    assert by_detector(findings(point(24, rows=1200)))[("volume", "rows")] == "warning"


def test_null_rate_spike_names_the_column() -> None:
    found = by_detector(findings(point(24, null_rates={"device": 0.5})))
    assert found == {("null_rate", "device"): "critical"}
    assert by_detector(findings(point(24, null_rates={"device": 0.09}))) == {
        ("null_rate", "device"): "warning"
    }


def test_quarantine_rate_spike() -> None:
    found = findings(point(24, rows=840, rows_in=1400, rows_quarantined=560))
    assert by_detector(found)[("quarantine_rate", "quarantine_rate")] == "critical"


def test_category_drift_by_psi() -> None:
    drifted = {"page_view": 100, "click": 100, "purchase": 550, "search": 90}
    found = findings(point(24, category_counts={"event_type": drifted}))
    assert by_detector(found) == {("category_psi", "event_type"): "critical"}


def test_sampling_noise_of_a_small_batch_is_no_category_drift() -> None:
    small = {"page_view": 55, "click": 25, "purchase": 3, "search": 12}
    assert findings(point(24, rows=95, category_counts={"event_type": small}), HISTORY) == [
        f for f in findings(point(24, rows=95)) if f.detector != "category_psi"
    ]


def test_psi_is_zero_for_equal_frequencies_and_grows_with_shift() -> None:
    psi, noise = population_stability_index(dict(TYPES), dict(TYPES))
    assert psi == pytest.approx(0.0)
    assert noise > 0
    shifted, _ = population_stability_index({"page_view": 100, "click": 740}, dict(TYPES))
    assert shifted > 1


def test_numeric_shift_by_ks_on_quantile_sketches() -> None:
    moved = point(24, quantiles={"amount": _normal_sketch(80, 10)}, numeric_counts={"amount": 60})
    found = [f for f in findings(moved) if f.detector == "numeric_ks"]
    assert [(f.metric, f.severity) for f in found] == [("amount", "critical")]
    same = point(24, quantiles={"amount": _normal_sketch(51, 10)})
    assert not [f for f in findings(same) if f.detector == "numeric_ks"]


def test_ks_distance_of_sketches() -> None:
    a = _normal_sketch(0, 1)
    assert ks_distance(a, [(a, 100)]) == pytest.approx(0.0)
    assert ks_distance(a, [(_normal_sketch(10, 1), 100)]) == pytest.approx(1.0)


def test_too_few_numeric_values_are_not_tested() -> None:
    moved = point(24, quantiles={"amount": _normal_sketch(80, 10)}, numeric_counts={"amount": 5})
    assert not [f for f in findings(moved) if f.detector == "numeric_ks"]


def test_schema_drift_new_and_vanished_fields() -> None:
    new = findings(point(24, rescued_keys=("app_version", "coupon")))
    assert by_detector(new) == {("schema_drift", "rescued_data.coupon"): "warning"}
    gone = findings(point(24, rescued_keys=()))
    assert by_detector(gone) == {("schema_drift", "rescued_data.app_version"): "warning"}


def test_freshness_breach() -> None:
    assert by_detector(findings(point(24, event_lag_seconds=1200.0))) == {
        ("freshness", "event_lag_seconds"): "warning"
    }


def test_stall_from_the_last_batch_with_rows() -> None:
    history = [*HISTORY, point(24, rows=0)]
    last = HISTORY[-1].batch_ts
    assert detect_stall(history, M, last + timedelta(minutes=10)) is None
    warning = detect_stall(history, M, last + timedelta(hours=1))
    critical = detect_stall(history, M, last + timedelta(hours=3))
    assert warning is not None and warning.severity == "warning"
    assert critical is not None and critical.severity == "critical"
    assert critical.batch_id == 23
    assert critical.observed == pytest.approx(3 * 3600)
    assert detect_stall([], M, NOW) is None


def test_finding_ids_are_stable_and_distinct() -> None:
    a = findings(point(24, rows=80))
    b = detect(point(24, rows=80), HISTORY, M, NOW + timedelta(hours=1))
    assert [f.finding_id for f in a] == [f.finding_id for f in b]
    assert len({f.finding_id for f in a}) == len(a)


def test_robust_z_floors_the_spread() -> None:
    z, median, scale = robust_z(110, [100] * 20, 0.1)
    assert (median, scale) == (100, 10)
    assert z == pytest.approx(1.0)


def test_daily_rollup_weights_rates_by_rows() -> None:
    days = rollup_daily(
        [
            point(0, rows=100, null_rates={"device": 0.0}),
            point(1, rows=300, null_rates={"device": 0.4}),
            point(30, rows=10),
            point(31, rows=0, means={}, numeric_counts={"amount": 0}),
        ]
    )
    assert [(d.day.isoformat(), d.batches, d.rows) for d in days] == [
        ("2026-11-01", 2, 400),
        ("2026-11-02", 2, 10),
    ]
    assert days[0].null_rates["device"] == pytest.approx(0.3)
    assert days[1].means == {"amount": 50.0}  # the batch without amounts does not count


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"min_history": 0}, "min_history: 0 must be at least 1"),
        ({"psi_warning": 0.5, "psi_critical": 0.2}, "psi_warning = 0.5 and psi_critical"),
        ({"null_rate_critical": 2.0, "null_rate_warning": 0.1}, "null_rate_critical: 2.0"),
        ({"schema_drift_severity": "loud"}, "choose one of info, warning, critical"),
        ({"category_columns": "event_type"}, "must be a tuple of column names"),
        ({"change_ratio_warning": 1.0}, "must be above 1"),
    ],
)
def test_thresholds_are_validated(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Monitoring(**changes)


def test_monitoring_columns_are_checked_against_the_table() -> None:
    from tests.events import SILVER_EVENTS

    with pytest.raises(PolicyError, match=r"column\(s\) \['nope'\] are not in the schema"):
        dataclasses.replace(SILVER_EVENTS, monitoring=Monitoring(null_columns=("nope",)))
    with pytest.raises(PolicyError, match=r"\['user_id'\] hold personal data"):
        dataclasses.replace(SILVER_EVENTS, monitoring=Monitoring(category_columns=("user_id",)))
