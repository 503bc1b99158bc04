"""The fields of a schema version as dotted paths (``device.os``, ``items[].sku``), the names
silver's reasons give nested fields, and how to reach one inside an event."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lakehouse.contracts.model import Field

__all__ = ["Slot", "parent_of", "slots"]

# one step into an event: a key of an object, or None for "an element of this array"
Step = tuple[str | None, Field]


@dataclass(frozen=True)
class Slot:
    """A named field at some depth: its reason path and the steps from the event to it."""

    path: str
    chain: tuple[Step, ...]

    @property
    def field(self) -> Field:
        return self.chain[-1][1]

    @property
    def key(self) -> str:
        return str(self.chain[-1][0])

    @property
    def nested(self) -> bool:
        return len(self.chain) > 1


def _walk(f: Field, path: str, chain: tuple[Step, ...]) -> Iterator[Slot]:
    yield Slot(path, chain)
    yield from _inside(f, path, chain)


def _inside(f: Field, path: str, chain: tuple[Step, ...]) -> Iterator[Slot]:
    if f.logical_type == "object":
        for child in f.children:
            yield from _walk(child, f"{path}.{child.name}", (*chain, (child.name, child)))
    elif f.logical_type == "array" and f.items is not None:
        yield from _inside(f.items, f"{path}[]", (*chain, (None, f.items)))


def slots(fields: tuple[Field, ...]) -> list[Slot]:
    """Every named field, top-level first in declaration order, then depth first."""
    return [s for f in fields for s in _walk(f, f.name, ((f.name, f),))]


def parent_of(
    event: dict[str, Any], slot: Slot, make: Callable[[Field, bool], Any], rng: random.Random
) -> dict[str, Any]:
    """The object that holds ``slot``'s key in ``event``, creating the containers on the way
    with ``make(field, top_level)`` (an absent optional object, an empty array); through an
    array, one of its elements chosen at random."""
    container: Any = event
    for key, f in slot.chain[:-1]:
        if key is None:
            if not container:
                container.append(make(f, False))
            container = rng.choice(container)
            continue
        expected = dict if f.logical_type == "object" else list
        if not isinstance(container.get(key), expected):
            container[key] = make(f, container is event)  # an array gets 1 to 3 elements
        container = container[key]
    assert isinstance(container, dict)
    return container
