"""Claims: two backfills of the same dataset, layer and overlapping days never run at once,
from any host.

A claim is a row of ``ops.backfill_claims`` (:data:`~lakehouse.ops.BACKFILL_CLAIMS`), taken
by one Delta MERGE whose source is the new claim and whose condition finds a *live* claim of
the same dataset and layer whose days overlap it (not released, ``expires_ts`` after the new
claim's time); its only clause inserts the new claim when nothing matched. Two backfills
that claim at once both read the table, and it is unpartitioned: Delta fails the second
commit (``ConcurrentAppendException``: the first added a file its read would have seen) and
:func:`~lakehouse.io.delta.merge` runs it again, when it matches the first claim and inserts
nothing. Whether the claim was taken is read back from the table, so the answer is always
the order Delta serialised. Nothing is held on the local disk: this works across hosts on
object storage (Delta's commit protocol, ``gs://`` included).

A claim is held while the backfill runs: a heartbeat thread moves ``expires_ts`` forward
every third of ``backfill.claim_ttl`` (only while the claim is still live: an expired or
broken claim is lost, never revived), the backfill checks that its claim is live before
each write and stops when it is not, and the claim is released when the backfill ends, on
an error too. A claim left by a killed process expires ``claim_ttl`` after its last
renewal, and another backfill may then take those days; ``--break-claim ID`` releases one
at once. Hosts compare ``expires_ts`` with their own clocks: they must agree (NTP) to well
within ``claim_ttl``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, TimestampType

from lakehouse.backfill.commit import BackfillError
from lakehouse.catalog import table_path
from lakehouse.config import LakeConfig
from lakehouse.frames import local_frame
from lakehouse.io.batch import now
from lakehouse.io.delta import merge
from lakehouse.ops.backfills import BACKFILL_CLAIMS
from lakehouse.tabledef import struct

__all__ = [
    "BackfillClaimed",
    "Claim",
    "HeldClaim",
    "break_claim",
    "claimed",
    "live_claims",
    "release_claim",
    "renew_claim",
    "take_claim",
]

Clock = Callable[[], datetime]

FINISHED, FAILED, BROKEN = "finished", "failed", "broken"

_log = logging.getLogger(__name__)

_OVERLAP = (
    "t.dataset = s.dataset AND t.layer = s.layer "
    "AND t.first_day <= s.last_day AND t.last_day >= s.first_day"
)
_RELEASE = struct(
    ("claim_id", StringType(), False),
    ("released_ts", TimestampType(), False),
    ("released_by", StringType(), False),
    ("release_reason", StringType(), False),
)
_RENEWAL = struct(
    ("claim_id", StringType(), False),
    ("renewed_ts", TimestampType(), False),
    ("expires_ts", TimestampType(), False),
)


class BackfillClaimed(BackfillError):
    """Another backfill holds a claim on some of the days asked for."""


def _iso(ts: datetime) -> str:
    utc = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Claim:
    """One backfill's claim on a dataset's layer, ``first_day`` to ``last_day``."""

    claim_id: str
    dataset: str
    layer: str
    first_day: date
    last_day: date
    requested_by: str
    host: str
    claimed_ts: datetime
    expires_ts: datetime

    @property
    def days(self) -> str:
        if self.first_day == self.last_day:
            return self.first_day.isoformat()
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"

    def describe(self) -> str:
        """Who holds what since when, in a few words."""
        return (
            f"backfill {self.claim_id} by {self.requested_by} on {self.host} holds "
            f"{self.dataset} {self.layer} {self.days} since {_iso(self.claimed_ts)} "
            f"(claim until {_iso(self.expires_ts)}, renewed while it runs)"
        )

    def row(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "dataset": self.dataset,
            "layer": self.layer,
            "first_day": self.first_day,
            "last_day": self.last_day,
            "requested_by": self.requested_by,
            "host": self.host,
            "claimed_ts": self.claimed_ts,
            "expires_ts": self.expires_ts,
        }

    @classmethod
    def of(cls, row: Row) -> Claim:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


def _path(lake: LakeConfig) -> str:
    return table_path(lake, BACKFILL_CLAIMS)


def _claims(spark: SparkSession, lake: LakeConfig) -> DataFrame:
    return spark.read.format("delta").load(_path(lake))


def _live(at: datetime) -> Column:
    return F.col("released_ts").isNull() & (F.col("expires_ts") > F.lit(at))


def live_claims(
    spark: SparkSession, lake: LakeConfig, dataset: str, layer: str, at: datetime
) -> list[Claim]:
    """The claims on ``dataset``'s ``layer`` live at ``at``, oldest first."""
    rows = (
        _claims(spark, lake)
        .where((F.col("dataset") == dataset) & (F.col("layer") == layer) & _live(at))
        .orderBy("claimed_ts")
        .collect()
    )
    return [Claim.of(r) for r in rows]


def take_claim(spark: SparkSession, lake: LakeConfig, claim: Claim) -> Claim:
    """Write ``claim`` unless a live claim overlaps it (one MERGE: see the module
    docstring); :class:`BackfillClaimed` naming the holder when one does."""
    source = local_frame(spark, [claim.row()], BACKFILL_CLAIMS.schema)
    live = "t.released_ts IS NULL AND t.expires_ts > s.claimed_ts"
    merge(
        source,
        _path(lake),
        f"{_OVERLAP} AND {live}",
        lambda m: m.whenNotMatchedInsertAll(),
        what=f"backfill claim {claim.claim_id}",
    )
    claims = _claims(spark, lake)
    if not claims.where(F.col("claim_id") == claim.claim_id).isEmpty():
        return claim
    holders = [
        c
        for c in live_claims(spark, lake, claim.dataset, claim.layer, claim.claimed_ts)
        if c.first_day <= claim.last_day and c.last_day >= claim.first_day
    ]
    asked = f"{claim.dataset} {claim.layer} {claim.days}"
    if not holders:  # released between the MERGE and this read
        raise BackfillClaimed(
            f"backfill of {asked}: another backfill held these days a moment ago and has "
            "just ended; run it again"
        )
    holder = holders[0]
    raise BackfillClaimed(
        f"backfill of {asked} refused: {holder.describe()}; wait until it ends, or if its "
        f"process is gone, until its claim expires, or pass --break-claim {holder.claim_id}"
    )


def _release(
    spark: SparkSession, lake: LakeConfig, claim_id: str, *, by: str, reason: str, at: datetime
) -> None:
    source = local_frame(
        spark,
        [{"claim_id": claim_id, "released_ts": at, "released_by": by, "release_reason": reason}],
        _RELEASE,
    )
    merge(
        source,
        _path(lake),
        "t.claim_id = s.claim_id AND t.released_ts IS NULL",
        lambda m: m.whenMatchedUpdate(
            set={c: f"s.{c}" for c in ("released_ts", "released_by", "release_reason")}
        ),
        what=f"backfill claim {claim_id}: release",
    )


def release_claim(
    spark: SparkSession, lake: LakeConfig, claim: Claim, *, by: str, reason: str, at: datetime
) -> None:
    """Release ``claim`` (``reason``: finished or failed); a claim broken meanwhile keeps
    its breaker's release."""
    _release(spark, lake, claim.claim_id, by=by, reason=reason, at=at)


def break_claim(
    spark: SparkSession,
    lake: LakeConfig,
    claim_id: str,
    *,
    dataset: str,
    layer: str,
    by: str,
    at: datetime,
) -> Claim:
    """Release the claim ``claim_id`` of ``dataset``'s ``layer`` now, whoever holds it
    (``--break-claim``): its backfill, if it still runs, stops before its next write.
    :class:`BackfillError` naming the live claims when there is no such claim."""
    rows = (
        _claims(spark, lake)
        .where(
            (F.col("claim_id") == claim_id)
            & (F.col("dataset") == dataset)
            & (F.col("layer") == layer)
        )
        .collect()
    )
    if not rows:
        live = [c.claim_id for c in live_claims(spark, lake, dataset, layer, at)]
        raise BackfillError(
            f"--break-claim {claim_id}: no claim of that id on {dataset} {layer}; live "
            f"claims: {', '.join(live) if live else 'none'}"
        )
    _release(spark, lake, claim_id, by=by, reason=BROKEN, at=at)
    return Claim.of(rows[0])


def renew_claim(
    spark: SparkSession, lake: LakeConfig, claim: Claim, ttl: timedelta, at: datetime
) -> bool:
    """Move ``claim``'s expiry to ``at + ttl`` if it is live at ``at``; False when it is not
    (it expired or was broken: lost)."""
    expires = at + ttl
    source = local_frame(
        spark, [{"claim_id": claim.claim_id, "renewed_ts": at, "expires_ts": expires}], _RENEWAL
    )
    merge(
        source,
        _path(lake),
        "t.claim_id = s.claim_id AND t.released_ts IS NULL AND t.expires_ts > s.renewed_ts",
        lambda m: m.whenMatchedUpdate(set={"expires_ts": "s.expires_ts"}),
        what=f"backfill claim {claim.claim_id}: renewal",
    )
    mine = (F.col("claim_id") == claim.claim_id) & (F.col("expires_ts") == F.lit(expires))
    return not _claims(spark, lake).where(mine & F.col("released_ts").isNull()).isEmpty()


class HeldClaim:
    """A claim this process holds: renewed by a heartbeat thread every ``interval`` seconds
    (a third of ``ttl`` unless given), in a Spark session of its own (its commits never
    change what this session reports of its own), until released."""

    def __init__(
        self,
        spark: SparkSession,
        lake: LakeConfig,
        claim: Claim,
        ttl: timedelta,
        clock: Clock = now,
        *,
        interval: float | None = None,
    ) -> None:
        self.claim = claim
        self._spark, self._lake, self._ttl, self._clock = spark, lake, ttl, clock
        self._interval = ttl.total_seconds() / 3 if interval is None else interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, args=(spark.newSession(),), name=f"claim-{claim.claim_id}"
        )
        self._thread.daemon = True

    def start(self) -> None:
        self._thread.start()

    def _beat(self, session: SparkSession) -> None:
        while not self._stop.wait(self._interval):
            try:
                if not renew_claim(session, self._lake, self.claim, self._ttl, self._clock()):
                    _log.warning(
                        "backfill claim %s is lost (expired or broken)", self.claim.claim_id
                    )
                    return  # check() finds it before the next write
            except Exception as exc:  # the next beat tries again; check() reads the claim
                _log.warning("renewing backfill claim %s failed: %s", self.claim.claim_id, exc)

    def check(self, before: str) -> None:
        """:class:`BackfillError` unless the claim is live now (read from the table)."""
        at = self._clock()
        rows = _claims(self._spark, self._lake).where(F.col("claim_id") == self.claim.claim_id)
        row = rows.select(
            _live(at).alias("live"), "released_by", "release_reason", "expires_ts"
        ).first()
        if row is not None and row["live"]:
            return
        if row is not None and row["release_reason"] == BROKEN:
            how = f"was broken by {row['released_by']}"
        elif row is not None and row["released_by"] is not None:
            how = f"was released ({row['release_reason']})"
        else:
            how = f"expired at {_iso(row['expires_ts'])}" if row is not None else "is gone"
        raise BackfillError(
            f"backfill {self.claim.claim_id}: its claim on {self.claim.dataset} "
            f"{self.claim.layer} {self.claim.days} {how}; stopped before {before}. Run it "
            "again when no other backfill holds these days"
        )

    def release(self, by: str, reason: str) -> None:
        """Stop the heartbeat and release the claim."""
        self._stop.set()
        self._thread.join()
        release_claim(self._spark, self._lake, self.claim, by=by, reason=reason, at=self._clock())


@contextmanager
def claimed(
    spark: SparkSession,
    lake: LakeConfig,
    claim: Claim,
    ttl: timedelta,
    *,
    by: str,
    break_id: str | None = None,
    clock: Clock = now,
) -> Iterator[HeldClaim]:
    """Hold ``claim`` for the block (after breaking ``break_id`` if given): taken (or
    :class:`BackfillClaimed`), renewed, and released when the block ends (``finished``) or
    raises (``failed``). A release that fails while the block's error propagates is logged;
    the claim then expires."""
    if break_id is not None:
        broken = break_claim(
            spark, lake, break_id, dataset=claim.dataset, layer=claim.layer, by=by, at=clock()
        )
        _log.warning("broke the claim of %s", broken.describe())
    held = HeldClaim(spark, lake, take_claim(spark, lake, claim), ttl, clock)
    held.start()
    reason = FAILED
    try:
        yield held
        reason = FINISHED
    finally:
        try:
            held.release(by, reason)
        except Exception as exc:
            if reason == FINISHED:
                raise
            _log.warning("releasing backfill claim %s failed: %s", claim.claim_id, exc)
