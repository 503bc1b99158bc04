"""Crash injection: named fault points in the jobs' micro-batches, armed by an environment
variable, that kill the driver process with SIGKILL (no cleanup, no ``finally``, no flush).

The reliability tests use it to prove that a crash anywhere in a micro-batch loses and
duplicates nothing. It does nothing unless ``LAKEHOUSE_CRASH_AT`` is set::

    LAKEHOUSE_CRASH_AT="silver:after_write:silver.events"        first time silver reaches it
    LAKEHOUSE_CRASH_AT="silver:after_write:silver.events@3"      third time in this process
    LAKEHOUSE_CRASH_AT="gold:before_commit:batch=2"              when gold runs batch 2
    LAKEHOUSE_CRASH_AT="bronze-*:after_log,gold:*@2"             several patterns (fnmatch)
    LAKEHOUSE_CRASH_AT="random:0.05:seed=7"                      each point with probability 0.05

Points (``<job>:<point>``, job being ``bronze-<source>``, ``silver`` or ``gold``):

- ``after_write:<table>``: a table of the batch was written (target, quarantine, quality
  results; gold: each upsert);
- ``after_log``: the batch log row was written, the batch's last write;
- ``before_commit``: ``foreachBatch`` is about to return: Spark has not yet written the
  batch to the checkpoint's commit log, so a restart runs the batch again.
"""

from __future__ import annotations

import fnmatch
import os
import random
import signal
import sys
from dataclasses import dataclass, field

from lakehouse.errors import ConfigError

__all__ = [
    "CRASH_ENV_VAR",
    "POINTS",
    "CrashPlan",
    "fault_point",
    "parse_crash_plan",
]

CRASH_ENV_VAR = "LAKEHOUSE_CRASH_AT"
POINTS = ("after_write:<table>", "after_log", "before_commit")


@dataclass(frozen=True)
class _Rule:
    pattern: str
    hit: int | None = None
    batch: int | None = None


@dataclass
class CrashPlan:
    """Where to crash: fnmatch rules on ``<job>:<point>`` (with the n-th hit or a batch id),
    or a probability per point with a seed."""

    rules: tuple[_Rule, ...] = ()
    probability: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    hits: dict[str, int] = field(default_factory=dict)

    def should_crash(self, name: str, batch_id: int) -> bool:
        """Count this visit of point ``name`` and say whether the process must die here."""
        if self.probability:
            return self.rng.random() < self.probability
        for rule in self.rules:
            if not fnmatch.fnmatchcase(name, rule.pattern):
                continue
            if rule.batch is not None:
                if rule.batch == batch_id:
                    return True
                continue
            self.hits[rule.pattern] = self.hits.get(rule.pattern, 0) + 1
            if self.hits[rule.pattern] == (rule.hit or 1):
                return True
        return False


def parse_crash_plan(spec: str) -> CrashPlan:
    """Parse the value of ``LAKEHOUSE_CRASH_AT`` (see the module docstring)."""
    spec = spec.strip()
    if spec.startswith("random:"):
        parts = spec.split(":")
        try:
            probability = float(parts[1])
            seed = int(parts[2].removeprefix("seed=")) if len(parts) > 2 else 0
        except (IndexError, ValueError) as exc:
            raise ConfigError(
                f"{CRASH_ENV_VAR}={spec!r}: write random:<probability>[:seed=<n>]"
            ) from exc
        if not 0.0 < probability <= 1.0:
            raise ConfigError(f"{CRASH_ENV_VAR}={spec!r}: probability must be in (0, 1]")
        return CrashPlan(probability=probability, rng=random.Random(seed))
    rules = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        pattern, hit, batch = item, None, None
        if "@" in item:
            pattern, _, count = item.rpartition("@")
            if not count.isdigit() or int(count) < 1:
                raise ConfigError(f"{CRASH_ENV_VAR}: {item!r}: the hit after @ must be 1 or more")
            hit = int(count)
        elif ":batch=" in item:
            pattern, _, number = item.rpartition(":batch=")
            if not number.isdigit():
                raise ConfigError(f"{CRASH_ENV_VAR}: {item!r}: batch= needs a batch id")
            batch = int(number)
        if pattern.count(":") < 1:
            raise ConfigError(
                f"{CRASH_ENV_VAR}: {item!r} is not <job>:<point>; points are {', '.join(POINTS)}"
            )
        rules.append(_Rule(pattern, hit, batch))
    return CrashPlan(rules=tuple(rules))


_plan: CrashPlan | None = None
_plan_spec: str | None = None


def _current_plan() -> CrashPlan | None:
    global _plan, _plan_spec
    spec = os.environ.get(CRASH_ENV_VAR, "")
    if not spec:
        return None
    if spec != _plan_spec:
        _plan, _plan_spec = parse_crash_plan(spec), spec
    return _plan


def fault_point(job: str, point: str, batch_id: int) -> None:
    """Kill this process with SIGKILL when ``LAKEHOUSE_CRASH_AT`` selects ``job:point``."""
    plan = _current_plan()
    if plan is None:
        return
    name = f"{job}:{point}"
    if plan.should_crash(name, batch_id):
        sys.stderr.write(f"lakehouse: crash injected at {name} (batch {batch_id})\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
