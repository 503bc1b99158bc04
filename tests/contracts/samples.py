"""Samples of JSON lines for the draft-contract tests: the product events of the generator and
nested orders (line items, decimal totals, an e-mail address, an IP)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.product_generator import GeneratorSpec, generate_events

__all__ = ["events_sample", "orders_sample", "write_lines"]


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def events_sample(path: Path, count: int = 600) -> Path:
    """The generator's product events, bad ones included (5%)."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    events = generate_events(GeneratorSpec(count=count, seed=11, start=start))
    return write_lines(path, [e.line for e in events])


def _order(rng: random.Random, n: int, ts: datetime) -> dict[str, object]:
    items = [
        {
            "sku": f"SKU-{rng.randrange(1000):04d}",
            "quantity": rng.randint(1, 5),
            "unit_price": rng.randint(100, 20000) / 100,
        }
        for _ in range(rng.randint(1, 4))
    ]
    total = round(sum(float(str(i["unit_price"])) * int(str(i["quantity"])) for i in items), 2)
    customer = f"cus_{rng.randrange(300):05d}"
    order: dict[str, object] = {
        "order_id": f"ord-{n:06d}",
        "ordered_at": (ts + timedelta(seconds=n * 7)).isoformat().replace("+00:00", "Z"),
        "customer_id": customer,
        "email": f"{customer}@example.com",
        "client_ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "country": rng.choice(["DE", "FR", "US", "GB"]),
        "channel": rng.choice(["web", "app", "store"]),
        "currency": "EUR",
        "items": items,
        "total": total,
        "shipping_address": {"street": "Main St 1", "city": "Berlin", "zip": "10115"},
        "contract_version": 1,
    }
    if n % 10 == 0:
        order["coupon"] = None
    return order


def orders_sample(path: Path, count: int = 200) -> Path:
    """Nested orders; prices and totals are JSON numbers with at most two decimals."""
    rng = random.Random(5)
    ts = datetime(2026, 11, 1, 8, tzinfo=UTC)
    lines = []
    for n in range(count):
        lines.append(json.dumps(_order(rng, n, ts)).encode())
    return write_lines(path, lines)
