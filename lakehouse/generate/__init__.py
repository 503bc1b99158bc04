"""Test events of any declared dataset, made from its data contract.

- :mod:`lakehouse.generate.spec`: what to generate, the bad kinds and their reasons
- :mod:`lakehouse.generate.events`: good events and every bad kind from a Dataset
- :mod:`lakehouse.generate.values`: a value for a field (type, allowed values, scale, nesting)
- :mod:`lakehouse.generate.paths`: nested fields as dotted reason paths (``items[].sku``)
- :mod:`lakehouse.generate.suite`: the silver suite's critical rules a good event meets
- :mod:`lakehouse.generate.violations`: values that break one critical expectation alone
- :mod:`lakehouse.generate.regex`: a string a suite's regex matches
- :mod:`lakehouse.generate.output`: the expected summary, landing files

:func:`lakehouse.publish.outgoing` makes a generated event a message to publish.
"""

from __future__ import annotations

from lakehouse.generate.events import applicable_kinds, generate_dataset_events
from lakehouse.generate.output import expected_summary, write_dataset_events, write_landing
from lakehouse.generate.spec import BAD_KINDS, SILVER, GeneratedEvent, GeneratorSpec

__all__ = [
    "BAD_KINDS",
    "SILVER",
    "GeneratedEvent",
    "GeneratorSpec",
    "applicable_kinds",
    "expected_summary",
    "generate_dataset_events",
    "write_dataset_events",
    "write_landing",
]
