"""Synthetic product events (the ``events`` dataset), hand-written for the tests and the
benchmarks: a chosen share of bad ones and the outcome each must have.

Every generated line carries the outcome the pipeline owes it: ``silver`` (it must reach
silver exactly once) or ``quarantine`` with the reason. The tests compare the lake against
that manifest. The package itself knows no dataset: ``lakehouse generate`` and the demo make
events from any contract (:mod:`lakehouse.generate`); this module keeps the product events'
exact shapes (and their ids and users per seed) that many tests were written against.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lakehouse.errors import ConfigError
from lakehouse.generate import GeneratedEvent
from lakehouse.generate.output import write_landing
from lakehouse.generate.values import LOCALES as COUNTRIES

__all__ = [
    "BAD_KINDS",
    "COUNTRIES",
    "GeneratedEvent",
    "GeneratorSpec",
    "generate_events",
    "write_landing",
]

# Kinds of bad events, each with the outcome the pipeline owes it.
# late and unknown_field are valid events that must still reach silver; unknown_event_type
# is not one of the contract's allowed event types.
BAD_KINDS: dict[str, tuple[str, str | None]] = {
    "malformed_json": ("quarantine", "malformed_json"),
    "missing_field": ("quarantine", "missing_field:user_id"),
    "wrong_type": ("quarantine", "invalid_type:amount"),
    "duplicate": ("quarantine", "duplicate_event_id"),
    "late": ("silver", None),
    "too_old": ("quarantine", "event_ts_too_old"),
    "future": ("quarantine", "event_ts_in_future"),
    "unknown_field": ("silver", None),
    "invalid_utf8": ("quarantine", "invalid_utf8"),
    "unknown_event_type": ("quarantine", "invalid_value:event_type"),
}

_EVENT_TYPES = (
    ("page_view", 50),
    ("click", 20),
    ("search", 9),
    ("add_to_cart", 8),
    ("purchase", 5),
    ("signup", 2),
    ("login", 3),
    ("logout", 3),
)
_DEVICES = (("web", 45), ("ios", 25), ("android", 25), ("desktop_app", 5))
_PAGES = ("/", "/search", "/product", "/cart", "/checkout", "/account", "/help")
_QUERIES = ("running shoes", "headphones", "coffee grinder", "tent", "usb-c cable", "desk lamp")
_DUPLICATE_OF_LAST = 200  # a duplicate repeats one of the last this many good events
_FIRST = ("ana", "ben", "chen", "dara", "eli", "fatima", "goran", "hana", "ivan", "jo")


@dataclass(frozen=True)
class GeneratorSpec:
    """What to generate: how many events, how fast, how many bad ones."""

    count: int
    bad_share: float = 0.05
    seed: int = 7
    rate: float = 100.0  # events per second of event time
    users: int = 500
    start: datetime | None = None  # event time of the first event; default ends "now"
    bad_kinds: Sequence[str] = tuple(BAD_KINDS)

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ConfigError(f"count: {self.count} must be zero or more")
        if not 0.0 <= self.bad_share <= 1.0:
            raise ConfigError(f"bad share: {self.bad_share} must be between 0 and 1")
        if self.rate <= 0:
            raise ConfigError(f"rate: {self.rate} must be more than 0 events per second")
        if self.users < 1:
            raise ConfigError(f"users: {self.users} must be at least 1")
        unknown = [k for k in self.bad_kinds if k not in BAD_KINDS]
        if unknown or not self.bad_kinds:
            raise ConfigError(
                f"bad kinds: {unknown or '(none)'} not valid; choose from {', '.join(BAD_KINDS)}"
            )


def _event(
    line: bytes, kind: str, event_id: str | None, expected: str, reason: str | None
) -> GeneratedEvent:
    """The line with its subject (``user_id``) and event time as a reader of the line sees
    them: none for a line that is not a JSON object (malformed, invalid UTF-8)."""
    try:
        fields = json.loads(line)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        fields = {}
    user, ts = fields.get("user_id"), fields.get("event_ts")
    event_time = None
    if isinstance(ts, str):
        try:
            event_time = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError:
            event_time = None
    subject = user if isinstance(user, str) and user else None
    return GeneratedEvent(line, kind, event_id, expected, reason, event_time, subject)


def _weighted(rng: random.Random, options: Sequence[tuple[object, ...]]) -> tuple[object, ...]:
    return rng.choices(options, weights=[int(str(o[-1])) for o in options])[0]


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return "2001:db8:" + ":".join(f"{rng.randrange(65536):x}" for _ in range(6))
    return (
        f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    )


class _Users:
    def __init__(self, rng: random.Random, count: int) -> None:
        self.ids = [f"usr_{rng.getrandbits(40):010x}" for _ in range(count)]
        self.sessions = {u: f"ses_{rng.getrandbits(48):012x}" for u in self.ids}
        self.homes = {u: _weighted(rng, COUNTRIES) for u in self.ids}
        self.devices = {u: str(_weighted(rng, _DEVICES)[0]) for u in self.ids}
        self.ips = {u: _ip(rng) for u in self.ids}


def _good_event(rng: random.Random, users: _Users, ts: datetime) -> dict[str, object]:
    user = rng.choice(users.ids)
    if rng.random() < 0.02:  # sessions rotate now and then
        users.sessions[user] = f"ses_{rng.getrandbits(48):012x}"
    country, currency, _ = users.homes[user]
    event_type = str(_weighted(rng, _EVENT_TYPES)[0])
    props: dict[str, str] = {"page": rng.choice(_PAGES)}
    event: dict[str, object] = {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": event_type,
        "event_ts": _iso(ts),
        "user_id": user,
        "session_id": users.sessions[user],
        "device": users.devices[user],
        "ip": users.ips[user],
        "country": country,
        "schema_version": 1,
    }
    if event_type == "search":
        props["query"] = rng.choice(_QUERIES)
    if event_type in ("add_to_cart", "purchase"):
        props["sku"] = f"SKU-{rng.randrange(10000):05d}"
        props["quantity"] = str(rng.randint(1, 4))
    if event_type == "purchase":
        cents = rng.randint(199, 49999)
        event["amount"] = float(cents // 100) if currency == "JPY" else cents / 100
        event["currency"] = currency
    if event_type == "signup":
        props["email"] = f"{rng.choice(_FIRST)}.{user[-4:]}@example.com"
    event["properties"] = props
    return event


def _dump(event: dict[str, object]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode("utf-8")


def _bad_event(
    kind: str, rng: random.Random, users: _Users, ts: datetime, recent: Sequence[GeneratedEvent]
) -> GeneratedEvent:
    """A bad event of ``kind``; ``recent`` holds the last good events, oldest first."""
    expected, reason = BAD_KINDS[kind]
    event = _good_event(rng, users, ts)
    event_id = str(event["event_id"])
    if kind == "malformed_json":
        line = _dump(event)[: rng.randint(5, 40)]
        return _event(line, kind, None, expected, reason)
    if kind == "invalid_utf8":
        # "café" written in Latin-1 inside a UTF-8 stream: the byte 0xE9 alone is invalid.
        event["properties"] = {"query": "cafX"}
        line = _dump(event).replace(b"cafX", b"caf\xe9")
        return _event(line, kind, event_id, expected, reason)
    if kind == "missing_field":
        del event["user_id"]
    elif kind == "wrong_type":
        event["amount"] = "twelve euros"
    elif kind == "duplicate":
        if recent:
            original = rng.choice(recent)
            return _event(original.line, kind, original.event_id, expected, reason)
        kind, expected, reason = "good", "silver", None
    elif kind == "late":
        event["event_ts"] = _iso(ts - timedelta(minutes=rng.randint(10, 600)))
    elif kind == "too_old":
        event["event_ts"] = _iso(ts - timedelta(days=rng.randint(30, 400)))
    elif kind == "future":
        event["event_ts"] = _iso(ts + timedelta(days=rng.randint(2, 30)))
    elif kind == "unknown_event_type":
        event["event_type"] = rng.choice(["teleport", "page-view", "purchase_v2"])
    elif kind == "unknown_field":
        event["app_version"] = f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        event["experiment"] = {"name": "new_checkout", "arm": rng.choice(["a", "b"])}
    return _event(_dump(event), kind, event_id, expected, reason)


def generate_events(spec: GeneratorSpec) -> list[GeneratedEvent]:
    """Generate ``spec.count`` events, deterministic for a seed and start time."""
    rng = random.Random(spec.seed)
    users = _Users(rng, spec.users)
    step = timedelta(seconds=1 / spec.rate)
    start = spec.start or datetime.now(UTC) - step * spec.count
    kinds = list(spec.bad_kinds)
    emitted: list[GeneratedEvent] = []
    # the last good events, for duplicates: a bounded window keeps generation linear
    recent: deque[GeneratedEvent] = deque(maxlen=_DUPLICATE_OF_LAST)
    for i in range(spec.count):
        ts = start + step * i
        if rng.random() < spec.bad_share:
            generated = _bad_event(rng.choice(kinds), rng, users, ts, recent)
        else:
            event = _good_event(rng, users, ts)
            generated = _event(_dump(event), "good", str(event["event_id"]), "silver", None)
        emitted.append(generated)
        if generated.kind == "good":
            recent.append(generated)
    return emitted
