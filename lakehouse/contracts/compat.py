"""Compatibility of two versions of a dataset's contract, like a schema registry or ``buf
breaking``: every change is classified compatible or breaking, and a breaking change needs a
new MAJOR version. Pure: no files, no git, no Spark session.

Compatible: a new optional field, a widened type (int -> bigint, float -> double,
decimal(p,s) -> decimal(p',s') with p'-s' >= p-s and s' >= s), a required field becoming
optional, a new allowed value, allowed values dropped altogether, a new schema version, a new
gold table, a classification to a less personal one, a widened dedup window, lateness or
future skew, a new subject field, and text: status, owner, contact, purpose, descriptions,
SLA (freshness, retention), sources, suites, monitoring, gold queries, other contract keys.

Breaking: a removed field, a retyped or narrowed field, a newly required field or a new
required field, narrowed allowed values (a removed value, or an enum on a field that had
none), a changed primaryKey / eventTimeField / versionField, a changed or removed
subjectField, a removed schema version, a removed gold table or changed gold keys / window,
a classification to a more personal one (none < pii_quasi < pii_pseudonymous < pii_direct),
changed minimization (of a field or rescuedDropKeys), changed normalization (stored values
change), a narrowed dedup window, lateness or future skew, a removed dataset (unless its
status was retired).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from lakehouse.config import SilverConfig, parse_duration
from lakehouse.contracts.compat_fields import PERSONAL_RANK, compare_fields
from lakehouse.contracts.model import Dataset, GoldTable, SchemaVersion
from lakehouse.errors import ConfigError

__all__ = ["BREAKING", "COMPATIBLE", "Change", "Verdict", "compare", "judge"]

COMPATIBLE = "compatible"
BREAKING = "breaking"
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
# top-level contract keys the comparison reads through the Dataset model
_MODELED_KEYS = frozenset(
    (
        *("name", "version", "status", "team", "support"),
        *("servers", "slaProperties", "customProperties", "schema"),
    )
)


@dataclass(frozen=True)
class Change:
    """One difference between two versions of a dataset's contract."""

    dataset: str
    kind: str  # compatible | breaking
    path: str  # what changed: "schema v1 field device.os", "gold revenue_per_day", ...
    message: str

    @property
    def breaking(self) -> bool:
        return self.kind == BREAKING


class _Changes:
    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        self.items: list[Change] = []

    def add(self, breaking: bool, path: str, message: str) -> None:
        kind = BREAKING if breaking else COMPATIBLE
        self.items.append(Change(self.dataset, kind, path, message))

    def text(self, path: str, old: object, new: object) -> None:
        if old != new:
            self.add(False, path, f"changed {_show(old)} -> {_show(new)}")


def compare(old: Dataset | None, new: Dataset | None, *, gold: bool = True) -> list[Change]:
    """Every change from ``old`` to ``new`` (``None``: the dataset does not exist on that
    side); ``gold=False`` leaves gold tables out (the old side does not know them)."""
    if old is None and new is None:
        return []
    if old is None:
        assert new is not None
        changes = _Changes(new.name)
        changes.add(False, "dataset", f"new dataset (version {new.version})")
        return changes.items
    if new is None:
        changes = _Changes(old.name)
        retired = old.status == "retired"
        changes.add(
            not retired,
            "dataset",
            "removed (its status was retired)"
            if retired
            else f"removed dataset (status {old.status}; retire it first)",
        )
        return changes.items
    changes = _Changes(new.name)
    _compare_about(old, new, changes)
    _compare_keys(old, new, changes)
    _compare_windows(old, new, changes)
    _compare_versions(old.versions, new.versions, changes)
    if gold:
        _compare_gold(old.gold, new.gold, changes)
    _compare_raw(old, new, changes)
    return changes.items


def _compare_about(old: Dataset, new: Dataset, changes: _Changes) -> None:
    changes.text("status", old.status, new.status)
    changes.text("owner", old.owner, new.owner)
    changes.text("contact", old.contact, new.contact)
    if old.purpose != new.purpose:
        changes.add(False, "description.purpose", "changed")
    changes.text("servers.landing", old.servers.landing_path, new.servers.landing_path)
    changes.text("servers.kafka", list(old.servers.kafka_topics), list(new.servers.kafka_topics))
    changes.text(
        "servers.pubsublite",
        old.servers.pubsublite_subscription,
        new.servers.pubsublite_subscription,
    )
    changes.text("servers.pubsub", old.servers.pubsub_subscription, new.servers.pubsub_subscription)
    changes.text(
        "sla.freshness", _seconds(old.sla.freshness_seconds), _seconds(new.sla.freshness_seconds)
    )
    for layer in sorted(set(old.sla.retention_days) | set(new.sla.retention_days)):
        changes.text(
            f"sla.retention.{layer}",
            _days(old.sla.retention_days.get(layer)),
            _days(new.sla.retention_days.get(layer)),
        )
    changes.text("customProperties.silverSuite", old.silver_suite, new.silver_suite)
    changes.text("customProperties.monitoring", old.monitoring, new.monitoring)


def _compare_keys(old: Dataset, new: Dataset, changes: _Changes) -> None:
    for path, before, after in (
        ("primaryKey", old.id_field, new.id_field),
        ("customProperties.eventTimeField", old.event_time_field, new.event_time_field),
        ("customProperties.versionField", old.version_field, new.version_field),
    ):
        if before != after:
            changes.add(True, path, f"changed {before} -> {after}")
    if old.subject_field != new.subject_field:
        added = old.subject_field is None
        what = f"changed {_show(old.subject_field)} -> {_show(new.subject_field)}"
        changes.add(not added, "customProperties.subjectField", what)
    if old.rescued_drop_keys != new.rescued_drop_keys:
        changes.add(
            True,
            "customProperties.rescuedDropKeys",
            f"minimization changed: {_show(list(old.rescued_drop_keys))} -> "
            f"{_show(list(new.rescued_drop_keys))}",
        )


def _compare_windows(old: Dataset, new: Dataset, changes: _Changes) -> None:
    """Dedup window, lateness and future skew: narrowed is breaking (duplicates or events
    accepted before are now let through or quarantined), widened compatible."""
    defaults = SilverConfig()  # what a contract that declares no window gets
    for key, before, after in (
        (
            "dedupWindow",
            old.dedup_window or defaults.dedup_window,
            new.dedup_window or defaults.dedup_window,
        ),
        (
            "maxLateness",
            old.max_lateness or defaults.max_lateness,
            new.max_lateness or defaults.max_lateness,
        ),
        (
            "maxFutureSkew",
            old.max_future_skew or defaults.max_future_skew,
            new.max_future_skew or defaults.max_future_skew,
        ),
    ):
        try:
            seconds = parse_duration(before, key), parse_duration(after, key)
        except ConfigError:  # the loader checked both; keep the comparison total
            seconds = (0, 0) if before == after else (1, 0)
        if seconds[0] == seconds[1]:
            continue
        narrowed = seconds[1] < seconds[0]
        changes.add(
            narrowed,
            f"customProperties.{key}",
            f"{'narrowed' if narrowed else 'widened'} {before} -> {after}",
        )


def _compare_versions(
    old: tuple[SchemaVersion, ...], new: tuple[SchemaVersion, ...], changes: _Changes
) -> None:
    new_by_number = {v.version: v for v in new}
    old_numbers = {v.version for v in old}
    for version in sorted(old, key=lambda v: v.version):
        path = f"schema v{version.version}"
        match = new_by_number.get(version.version)
        if match is None:
            changes.add(True, path, "removed schema version (events of it no longer parse)")
            continue
        changes.text(f"{path} name", version.name, match.name)
        compare_fields(version.fields, match.fields, f"{path} field ", changes.add)
    for version in sorted(new, key=lambda v: v.version):
        if version.version not in old_numbers:
            changes.add(False, f"schema v{version.version}", "new schema version")


def _compare_gold(
    old: tuple[GoldTable, ...], new: tuple[GoldTable, ...], changes: _Changes
) -> None:
    new_by_name = {g.name: g for g in new}
    old_names = {g.name for g in old}
    for table in old:
        path = f"gold {table.name}"
        match = new_by_name.get(table.name)
        if match is None:
            changes.add(True, path, "removed gold table")
            continue
        if table.keys != match.keys:
            changes.add(
                True, path, f"keys changed {_show(list(table.keys))} -> {_show(list(match.keys))}"
            )
        if (table.window_key, table.window_expr) != (match.window_key, match.window_expr):
            changes.add(
                True,
                path,
                f"window changed {table.window_key} = {table.window_expr} -> "
                f"{match.window_key} = {match.window_expr}",
            )
        _compare_gold_columns(table, match, path, changes)
        changes.text(f"{path} owner", table.owner, match.owner)
        changes.text(f"{path} suite", table.suite, match.suite)
        if table.description != match.description:
            changes.add(False, path, "description changed")
        if _query(table.sql) != _query(match.sql):
            changes.add(
                False, path, "query changed (its output columns are checked by the gold job)"
            )
    for table in new:
        if table.name not in old_names:
            changes.add(False, f"gold {table.name}", "new gold table")


def _compare_gold_columns(old: GoldTable, new: GoldTable, path: str, changes: _Changes) -> None:
    for column in sorted(set(old.classification) | set(new.classification)):
        before = old.classification.get(column, "none")
        after = new.classification.get(column, "none")
        if before != after:
            more = PERSONAL_RANK[after] > PERSONAL_RANK[before]
            changes.add(
                more,
                f"{path} column {column}",
                f"classification {before} -> {after} ({'more' if more else 'less'} personal)",
            )


def _compare_raw(old: Dataset, new: Dataset, changes: _Changes) -> None:
    """Contract keys the model does not read (domain, tags, description.usage, ...): a
    compatible change each; when nothing else changed, any differing key is named, so an
    edited contract is never 'unchanged' (comments and formatting do not count)."""
    before, after = _raw(old.content), _raw(new.content)
    if before is None or after is None:
        return
    nothing_else = not changes.items
    for key in sorted(set(before) | set(after)):
        if before.get(key) == after.get(key):
            continue
        if key == "description":
            for part in sorted(set(_map(before.get(key))) | set(_map(after.get(key)))):
                if part != "purpose" and _map(before.get(key)).get(part) != _map(
                    after.get(key)
                ).get(part):
                    changes.add(False, f"description.{part}", "changed")
        elif key not in _MODELED_KEYS or nothing_else:
            changes.add(False, key, "changed")


def _raw(content: bytes) -> dict[str, Any] | None:
    if not content:
        return None
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _query(sql: str) -> str:
    lines = (line for line in sql.splitlines() if not line.strip().startswith("--"))
    return " ".join(" ".join(lines).split())


def _seconds(value: int | None) -> str | None:
    return None if value is None else f"{value} s"


def _days(value: int | None) -> str | None:
    return None if value is None else f"{value} days"


def _show(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _semver(version: str) -> tuple[int, int, int] | None:
    match = _SEMVER.match(version)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


@dataclass(frozen=True)
class Verdict:
    """The changes of one dataset and whether its new version allows them."""

    dataset: str
    old_version: str | None
    new_version: str | None
    changes: tuple[Change, ...]
    problems: tuple[str, ...]  # why the check fails; empty: it passes

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """One line per change, then one per problem."""
        breaking = BREAKING.upper()
        old, new = _semver(self.old_version or ""), _semver(self.new_version or "")
        if old is not None and new is not None and new[0] > old[0]:
            breaking = f"{breaking} (major version bumped {old[0]} -> {new[0]})"
        out = []
        for change in self.changes:
            kind = breaking if change.breaking else change.kind.upper()
            out.append(f"{kind} {change.dataset}: {change.path}: {change.message}")
        out.extend(f"REFUSED {self.dataset}: {problem}" for problem in self.problems)
        return out


def judge(old: Dataset | None, new: Dataset | None, *, gold: bool = True) -> Verdict:
    """The changes from ``old`` to ``new`` and the version rules: no version may go down,
    a changed contract needs a new version, a breaking change a new MAJOR version."""
    changes = tuple(compare(old, new, gold=gold))
    named = new if new is not None else old
    name = named.name if named is not None else ""
    old_version = old.version if old is not None else None
    new_version = new.version if new is not None else None
    problems: list[str] = []
    breaking = [c for c in changes if c.breaking]
    if old is not None and new is not None:
        before, after = _semver(old.version), _semver(new.version)
        if before is None or after is None:
            problems.append(f"version {old.version} -> {new.version} is not MAJOR.MINOR.PATCH")
        elif after < before:
            problems.append(f"version went down {old.version} -> {new.version}")
        elif changes and after == before:
            kind = "MAJOR" if breaking else "MINOR or PATCH"
            problems.append(
                f"the dataset changed but its version {new.version} did not; bump {kind}"
            )
        elif breaking and after[0] <= before[0]:
            problems.append(
                f"{len(breaking)} breaking change(s) with version {old.version} -> "
                f"{new.version}; a breaking change needs a new MAJOR version "
                f"({before[0] + 1}.0.0)"
            )
    elif breaking:  # a removed dataset that was not retired
        problems.append("a dataset is removed only after its status is retired")
    return Verdict(name, old_version, new_version, changes, tuple(problems))
