"""Events of any declared dataset, made from its contract: good ones and every kind of bad
one, each with the outcome silver owes it.

A good event has every required field (and most optional ones) with a value of its type,
inside the allowed values and the silver suite's critical expectations; its event time
follows ``spec.rate``. A bad event has exactly one defect, so its expected reason is the
first (and only) reason silver's parse, its dedup or its gate gives (see
:data:`lakehouse.generate.spec.BAD_KINDS`). The expected outcomes assume the events are ingested
soon after their event time (well within the contract's ``maxLateness``), as when they are
generated ending "now" and published at once.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lakehouse.config import SilverConfig, parse_duration
from lakehouse.contracts.model import Dataset, Field, SchemaVersion
from lakehouse.errors import ConfigError
from lakehouse.generate.paths import Slot, parent_of, slots
from lakehouse.generate.spec import BAD_KINDS, SILVER, GeneratedEvent, GeneratorSpec
from lakehouse.generate.suite import ColumnRule, SuiteCheck, read_checks, rules_of
from lakehouse.generate.values import LOCALES, Locale, ValueMaker, iso_timestamp
from lakehouse.generate.violations import ABSENT, violations

__all__ = ["applicable_kinds", "generate_dataset_events"]

_DUPLICATE_OF_LAST = 200  # a duplicate repeats one of the last this many good events
_BAD_UTF8 = "@@not-utf8@@"
_EXTRA_KEYS = ("app_build", "experiment", "referrer_hint", "client_flags")
_DAY = 86400
_OPTIONAL_SENT = 0.8  # the share of events that carry an optional field


def _suite_path(dataset: Dataset, suite_dir: Path | None) -> Path:
    folder = suite_dir or Path(__file__).resolve().parents[2] / "expectations"
    path = folder / f"{dataset.silver_suite}.json"
    if not path.is_file():
        raise ConfigError(
            f"dataset {dataset.name}: silver suite {dataset.silver_suite!r} not found in "
            f"{str(folder)!r}; give the suites' folder (quality.suite_dir)"
        )
    return path


class _Plan:
    """What the dataset allows: the fields a defect may hit, by kind."""

    def __init__(self, dataset: Dataset, checks: list[SuiteCheck]) -> None:
        version = dataset.latest
        keys = {dataset.id_field, dataset.version_field}
        every = slots(version.fields)
        top = [s for s in every if not s.nested and s.key not in keys]
        self.targets: dict[str, list[Slot]] = {
            "missing_field": [s for s in top if s.field.required],
            "missing_nested_field": [s for s in every if s.nested and s.field.required],
            "wrong_type": top,
            "wrong_nested_type": [s for s in every if s.nested],
            "invalid_value": [s for s in every if s.field.allowed and s.key not in keys],
        }
        self.free_text = [
            s.key
            for s in top
            if s.field.logical_type == "string"
            and not s.field.allowed
            and s.key not in (dataset.event_time_field, dataset.subject_field)
        ]
        declared = {f.name for v in dataset.versions for f in v.fields}
        self.extra_keys = [k for k in _EXTRA_KEYS if k not in declared]
        self.rescued_checked = any(c.column == "rescued_data" for c in checks)
        plain = [s.field for s in top if s.key != dataset.event_time_field]
        self.violations = violations(plain, checks)

    def applicable(self, kind: str) -> bool:
        if kind in self.targets:
            return bool(self.targets[kind])
        if kind == "unknown_field":
            return bool(self.extra_keys) and not self.rescued_checked
        if kind == "expectation_failed":
            return bool(self.violations)
        return True


def applicable_kinds(dataset: Dataset, suite_dir: Path | None = None) -> tuple[str, ...]:
    """The bad kinds the dataset's contract allows (no nested kinds without nested fields,
    no invalid_value without allowed values)."""
    plan = _Plan(dataset, read_checks(_suite_path(dataset, suite_dir)))
    return tuple(k for k in BAD_KINDS if plan.applicable(k))


def _dump(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _meets_not_null(version: SchemaVersion, rules: dict[str, ColumnRule]) -> bool:
    """Whether events of ``version`` can have every column the suite wants not null."""
    names = {f.name for f in version.fields}
    return all(column in names for column, rule in rules.items() if rule.not_null)


class _Shape:
    """The fields of one schema version as the generator fills them: their order, and the
    fields other than the id, event time, version and subject with whether they are always
    sent and their maker."""

    def __init__(
        self,
        version: SchemaVersion,
        dataset: Dataset,
        maker: ValueMaker,
        rules: dict[str, ColumnRule],
    ) -> None:
        self.version = version
        self.order = [f.name for f in version.fields]
        keys = (dataset.id_field, dataset.event_time_field, dataset.version_field)
        self.others = [
            (
                f.name,
                f.required or (f.name in rules and rules[f.name].not_null),
                maker.maker(f, top_level=True),
            )
            for f in version.fields
            if f.name not in (*keys, dataset.subject_field)
        ]


class _Generator:
    def __init__(
        self,
        dataset: Dataset,
        spec: GeneratorSpec,
        checks: list[SuiteCheck],
        defaults: SilverConfig,
    ) -> None:
        rules = rules_of(checks)
        self.dataset, self.spec = dataset, spec
        self.version = dataset.latest
        # the people are the same in every dataset for a seed (a subject erased from all of
        # them is found in each); the events differ per dataset
        people = random.Random(spec.seed)
        self.rng = random.Random(f"{dataset.name}:{spec.seed}")
        self.maker = ValueMaker(self.rng, rules, dataset.name)
        self.rules = rules
        self.plan = _Plan(dataset, checks)
        where = f"dataset {dataset.name}"
        self.lateness = parse_duration(
            dataset.max_lateness or defaults.max_lateness, f"{where}: maxLateness"
        )
        self.skew = parse_duration(
            dataset.max_future_skew or defaults.max_future_skew, f"{where}: maxFutureSkew"
        )
        dedup = parse_duration(dataset.dedup_window or defaults.dedup_window, f"{where}: dedup")
        self.duplicate_within = timedelta(seconds=min(dedup, self.lateness) / 2)
        self.ids: set[str] = set()
        self.homes = [
            people.choices(LOCALES, weights=[w for *_, w in LOCALES])[0] for _ in range(spec.users)
        ]
        self.subjects = [f"usr_{people.getrandbits(40):010x}" for _ in range(spec.users)]
        subject = self.version.field(dataset.subject_field or "")
        rule = rules.get(subject.name) if subject is not None and not subject.minimize else None
        if subject is not None and rule is not None and not all(map(rule.accepts, self.subjects)):
            anywhere = Locale("US", "USD", datetime(2000, 1, 1, tzinfo=UTC))
            self.subjects = [self.maker.good(subject, anywhere, True) for _ in self.subjects]
        self.recent: deque[tuple[datetime, GeneratedEvent]] = deque(maxlen=_DUPLICATE_OF_LAST)
        self.id_field = next(f for f in self.version.fields if f.name == dataset.id_field)
        self.latest = _Shape(self.version, dataset, self.maker, rules)
        self.older = [
            _Shape(v, dataset, self.maker, rules)
            for v in sorted(dataset.versions, key=lambda v: v.version)
            if v is not self.version and _meets_not_null(v, rules)
        ]

    # good ----------------------------------------------------------------------------------

    def _new_id(self, locale: Locale) -> str:
        f = self.id_field
        rule = self.rules.get(f.name)
        for _ in range(100):
            candidate = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            if rule is not None and not rule.accepts(candidate):
                candidate = str(self.maker.good(f, locale, top_level=True))
            if candidate not in self.ids:
                self.ids.add(candidate)
                return candidate
        raise ConfigError(
            f"dataset {self.dataset.name}: cannot make a new unique {f.name!r}; the suite's "
            "rules for it leave too few values"
        )

    def good(self, ts: datetime, any_version: bool = False) -> tuple[dict[str, Any], Locale]:
        """A good event of the latest version (or, with ``any_version``, of an older one for
        ``spec.older_share`` of the events)."""
        shape = self.latest
        if any_version and self.older and self.rng.random() < self.spec.older_share:
            shape = self.rng.choice(self.older)
        who = self.rng.randrange(self.spec.users)
        country, currency, _ = self.homes[who]
        locale = Locale(country, currency, ts)
        ds, rng = self.dataset, self.rng
        event: dict[str, Any] = {
            ds.id_field: self._new_id(locale),
            ds.event_time_field: iso_timestamp(ts),
        }
        if ds.subject_field:
            event[ds.subject_field] = self.subjects[who]
        for name, always, make in shape.others:
            if always or rng.random() < _OPTIONAL_SENT:
                event[name] = make(locale)
        event[ds.version_field] = shape.version.version
        return {name: event[name] for name in shape.order if name in event}, locale

    def _made(
        self, kind: str, event: dict[str, Any], line: bytes, ts: datetime | None, reason: str
    ) -> GeneratedEvent:
        ds = self.dataset
        event_id = event.get(ds.id_field)
        subject = event.get(ds.subject_field) if ds.subject_field else None
        event_time = ts.replace(microsecond=ts.microsecond // 1000 * 1000) if ts else None
        if event_time is not None and event.get(ds.event_time_field) != iso_timestamp(event_time):
            event_time = None  # missing, or not a timestamp
        return GeneratedEvent(
            line=line,
            kind=kind,
            event_id=event_id if isinstance(event_id, str) else None,
            expected=SILVER if reason == SILVER else "quarantine",
            reason=None if reason == SILVER else reason,
            event_time=event_time,
            subject=subject if isinstance(subject, str) else None,
        )

    # bad -----------------------------------------------------------------------------------

    def bad(self, kind: str, ts: datetime) -> GeneratedEvent:
        rng, ds = self.rng, self.dataset
        if kind == "duplicate":
            cutoff = ts - self.duplicate_within
            while self.recent and self.recent[0][0] < cutoff:
                self.recent.popleft()
            if self.recent:
                original = rng.choice(self.recent)[1]
                return GeneratedEvent(
                    original.line,
                    kind,
                    original.event_id,
                    "quarantine",
                    BAD_KINDS[kind],
                    original.event_time,
                    original.subject,
                )
            return self.good_event(ts)  # nothing to repeat yet
        event, locale = self.good(ts)
        reason = BAD_KINDS[kind]
        if kind == "malformed_json":
            line = _dump(event)
            return self._made(
                kind, {}, line[: rng.randint(1, min(40, len(line) - 1))], None, reason
            )
        if kind == "empty_payload":
            return self._made(kind, {}, b"", None, reason)
        if kind == "invalid_utf8":
            key = rng.choice(self.plan.free_text or self.plan.extra_keys or ["note"])
            event[key] = _BAD_UTF8
            line = _dump(event).replace(_BAD_UTF8.encode(), b"caf\xe9")
            return self._made(kind, event, line, ts, reason)
        if kind in self.plan.targets:
            slot = rng.choice(self.plan.targets[kind])
            parent = parent_of(event, slot, self._make(locale), rng)
            if kind.startswith("missing"):
                parent.pop(slot.key, None)
                reason = f"missing_field:{slot.path}"
            elif kind == "invalid_value":
                parent[slot.key] = self.maker.outside(slot.field)
                reason = f"invalid_value:{slot.path}"
            else:
                parent[slot.key] = self.maker.wrong(slot.field)
                reason = f"invalid_type:{slot.path}"
        elif kind == "unsupported_schema_version":
            number = max(v.version for v in ds.versions) + rng.randint(1, 3)
            event[ds.version_field] = number
            reason = f"unsupported_schema_version:{number}"
        elif kind in ("future", "too_old", "late"):
            ts = self._shifted(kind, ts)
            event[ds.event_time_field] = iso_timestamp(ts)
        elif kind == "duplicate_key":
            key = rng.choice(list(event))
            again = json.dumps({key: event[key]}, separators=(",", ":"), ensure_ascii=False)
            line = _dump(event)[:-1] + b"," + again[1:-1].encode("utf-8") + b"}"
            return self._made(kind, event, line, ts, reason)
        elif kind == "expectation_failed":
            violation = rng.choice(self.plan.violations)
            value = violation.value(rng)
            if value is ABSENT:
                event.pop(violation.field.name, None)
            else:
                event[violation.field.name] = value
            reason = violation.reason
        elif kind == "unknown_field":
            event[rng.choice(self.plan.extra_keys)] = f"{rng.randint(1, 9)}.{rng.randint(0, 20)}"
        return self._made(kind, event, _dump(event), ts, reason)

    def _shifted(self, kind: str, ts: datetime) -> datetime:
        rng = self.rng
        if kind == "future":  # a day or more beyond the skew: still future when ingested later
            return ts + timedelta(seconds=self.skew + rng.uniform(_DAY, 30 * _DAY))
        if kind == "too_old":
            return ts - timedelta(seconds=self.lateness + rng.uniform(_DAY, 365 * _DAY))
        return ts - timedelta(seconds=rng.uniform(min(60, self.lateness / 4), self.lateness / 2))

    def _make(self, locale: Locale) -> Callable[[Field, bool], Any]:
        return lambda f, top: self.maker.good(f, locale, top_level=top)

    def good_event(self, ts: datetime) -> GeneratedEvent:
        event, _ = self.good(ts, any_version=True)
        made = self._made("good", event, _dump(event), ts, SILVER)
        self.recent.append((ts, made))
        return made


def _kinds(dataset: Dataset, spec: GeneratorSpec, plan: _Plan) -> list[str]:
    if spec.bad_kinds is None:
        return [k for k in BAD_KINDS if plan.applicable(k)]
    wrong = [k for k in spec.bad_kinds if not plan.applicable(k)]
    if wrong:
        valid = [k for k in BAD_KINDS if plan.applicable(k)]
        raise ConfigError(
            f"bad kinds: {', '.join(wrong)} do not apply to dataset {dataset.name}; its "
            f"contract allows {', '.join(valid)}"
        )
    return list(dict.fromkeys(spec.bad_kinds))


def generate_dataset_events(
    dataset: Dataset,
    spec: GeneratorSpec,
    suite_dir: Path | None = None,
    defaults: SilverConfig | None = None,
) -> list[GeneratedEvent]:
    """``spec.count`` events of ``dataset``, deterministic for a seed and ``spec.start``.

    ``round(count * bad_share)`` of them are bad, spread evenly over the kinds (all those the
    contract allows, or ``spec.bad_kinds``) at random positions; a duplicate with no earlier
    good event to repeat is a good event instead. Good events follow the latest schema
    version, or for ``spec.older_share`` of them an older one (among those whose fields
    include every column the suite wants not null). Time windows the contract leaves out
    are those of ``defaults`` (``[silver]``).
    ``suite_dir`` holds the silver suite (default: the repository's ``expectations/``).
    """
    checks = read_checks(_suite_path(dataset, suite_dir))
    generator = _Generator(dataset, spec, checks, defaults or SilverConfig())
    kinds = _kinds(dataset, spec, generator.plan)
    rng = generator.rng
    step = timedelta(seconds=1 / spec.rate)
    start = spec.start or datetime.now(UTC) - step * spec.count
    bad_count = round(spec.count * spec.bad_share)
    positions = rng.sample(range(spec.count), bad_count)
    bad_at = {p: kinds[n % len(kinds)] for n, p in enumerate(positions)}
    events: list[GeneratedEvent] = []
    for i in range(spec.count):
        ts = start + step * i
        kind = bad_at.get(i)
        events.append(generator.bad(kind, ts) if kind else generator.good_event(ts))
    return events
