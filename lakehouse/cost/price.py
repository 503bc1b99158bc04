"""The Dataproc price estimate of ``lakehouse cost``: pure arithmetic on configured prices.

An estimate, not a bill: it prices task CPU time (what Spark's task metrics measure), not
idle cores, disks, network egress, storage, Pub/Sub or discounts.

- cluster vCPUs ``V = master_vcpus + workers * worker_vcpus``, memory
  ``M = master_memory_gb + workers * worker_memory_gb``
- cluster price per hour ``P = V * (vcpu_hour + dataproc_vcpu_hour) + M * memory_gb_hour``
- one busy vCPU-hour, with its share of the memory, ``p = P / V``
- at the current rate (the batches of the last ``window_hours``): events per day
  ``E = events / window_seconds * 86400``, task CPU hours per day
  ``H = task_cpu_ms / window_seconds * 86400 / 3_600_000``
- price per day of the work ``H * p``; per million events ``H * p / E * 1e6``;
  the cluster running all day ``24 * P``; utilization ``H / (24 * V)``
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.config import CostConfig

__all__ = [
    "DailyEstimate",
    "cluster_hour_price",
    "cluster_vcpus",
    "estimate_day",
    "vcpu_hour_price",
]


def cluster_vcpus(config: CostConfig) -> int:
    return config.master_vcpus + config.workers * config.worker_vcpus


def cluster_hour_price(config: CostConfig) -> float:
    """``P``: the cluster's price per hour."""
    memory = config.master_memory_gb + config.workers * config.worker_memory_gb
    vcpu = config.vcpu_hour + config.dataproc_vcpu_hour
    return cluster_vcpus(config) * vcpu + memory * config.memory_gb_hour


def vcpu_hour_price(config: CostConfig) -> float:
    """``p``: one busy vCPU-hour of the cluster, memory included."""
    return cluster_hour_price(config) / cluster_vcpus(config)


@dataclass(frozen=True)
class DailyEstimate:
    """What one stream (or the whole lake) costs per day at its current rate."""

    events_per_day: float
    cpu_hours_per_day: float
    price_per_day: float
    price_per_million_events: float | None
    cluster_price_per_day: float
    utilization: float


def estimate_day(
    events: int, task_cpu_ms: int, window_seconds: float, config: CostConfig
) -> DailyEstimate:
    """The formula of the module docstring over ``events`` and ``task_cpu_ms`` measured in
    ``window_seconds``."""
    if window_seconds <= 0:
        raise ValueError(f"window_seconds {window_seconds} must be positive")
    per_day = 86400 / window_seconds
    events_day = events * per_day
    cpu_hours = task_cpu_ms * per_day / 3_600_000
    price = cpu_hours * vcpu_hour_price(config)
    return DailyEstimate(
        events_per_day=events_day,
        cpu_hours_per_day=cpu_hours,
        price_per_day=price,
        price_per_million_events=price / events_day * 1_000_000 if events_day else None,
        cluster_price_per_day=24 * cluster_hour_price(config),
        utilization=cpu_hours / (24 * cluster_vcpus(config)),
    )
