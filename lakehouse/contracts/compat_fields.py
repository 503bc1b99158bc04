"""Field-level compatibility of two versions of one schema version (a pure comparison).

Fields are matched by name, recursively into object properties (``device.os``), array items
(``items[].sku``) and map values (``properties{}``). What keeps every event that parsed
before parsing the same way, with the same meaning and no more personal data, is
compatible; everything else is breaking. See :mod:`lakehouse.contracts.compat`.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql.types import (
    ByteType,
    DataType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    ShortType,
)

from lakehouse.contracts.model import Field
from lakehouse.contracts.types import field_type
from lakehouse.policy import NONE, PII_DIRECT, PII_PSEUDONYMOUS, PII_QUASI

__all__ = ["PERSONAL_RANK", "Emit", "compare_field", "compare_fields", "type_change"]

# how personal a classification is: a field may only become less personal compatibly
PERSONAL_RANK = {NONE: 0, PII_QUASI: 1, PII_PSEUDONYMOUS: 2, PII_DIRECT: 3}
_INTEGRAL: tuple[type[DataType], ...] = (ByteType, ShortType, IntegerType, LongType)

# emit(breaking, path, message)
Emit = Callable[[bool, str, str], None]


def type_change(old: DataType, new: DataType) -> tuple[bool, str] | None:
    """``None`` when the types are equal, else (breaking, what changed) for a leaf type;
    a map compares its value types."""
    if old == new:
        return None
    what = f"{old.simpleString()} -> {new.simpleString()}"
    if isinstance(old, MapType) and isinstance(new, MapType):
        inner = type_change(old.valueType, new.valueType)
        return None if inner is None else (inner[0], f"map values {inner[1]}")
    if isinstance(old, _INTEGRAL) and isinstance(new, _INTEGRAL):
        widened = _INTEGRAL.index(type(new)) > _INTEGRAL.index(type(old))
        return (False, f"widened type {what}") if widened else (True, f"narrowed type {what}")
    if isinstance(old, FloatType) and isinstance(new, DoubleType):
        return False, f"widened type {what}"
    if isinstance(old, DoubleType) and isinstance(new, FloatType):
        return True, f"narrowed type {what}"
    if isinstance(old, DecimalType) and isinstance(new, DecimalType):
        widened = new.precision - new.scale >= old.precision - old.scale and new.scale >= old.scale
        return (False, f"widened type {what}") if widened else (True, f"narrowed type {what}")
    return True, f"retyped {what}"


def _compare_type(old: Field, new: Field, path: str, emit: Emit) -> bool:
    """Emit a type change; True when the fields' children should be compared."""
    if old.logical_type != new.logical_type:
        emit(True, path, f"retyped {old.logical_type} -> {new.logical_type}")
        return False
    if old.logical_type in ("object", "array"):
        return True
    change = type_change(field_type(old, path), field_type(new, path))
    if change is not None:
        emit(change[0], path, change[1])
    return False


def _compare_allowed(old: Field, new: Field, path: str, emit: Emit) -> None:
    if old.allowed == new.allowed:
        return
    if not old.allowed:
        emit(True, path, f"allowed values added to a field that had none: {_list(new.allowed)}")
        return
    if not new.allowed:
        emit(False, path, "allowed values removed: any value is allowed")
        return
    removed = [v for v in old.allowed if v not in new.allowed]
    added = [v for v in new.allowed if v not in old.allowed]
    if removed:
        emit(True, path, f"narrowed allowed values: removed {_list(removed)}")
    if added:
        emit(False, path, f"new allowed value(s) {_list(added)}")


def _compare_privacy(old: Field, new: Field, path: str, emit: Emit) -> None:
    if old.classification != new.classification:
        what = f"classification {old.classification} -> {new.classification}"
        more = PERSONAL_RANK[new.classification] > PERSONAL_RANK[old.classification]
        emit(more, path, f"{what} ({'more' if more else 'less'} personal)")
    old_min = (old.minimize or "none", old.keys)
    new_min = (new.minimize or "none", new.keys)
    if old_min != new_min:
        emit(True, path, f"minimization changed: {_minimize(*old_min)} -> {_minimize(*new_min)}")


def _compare_text(old: Field, new: Field, path: str, emit: Emit) -> None:
    if old.normalize != new.normalize:
        emit(True, path, f"normalization {old.normalize} -> {new.normalize} (stored values change)")
    if old.description != new.description:
        emit(False, path, "description changed")
    if old.monitor != new.monitor:
        emit(False, path, f"monitoring {_list(old.monitor)} -> {_list(new.monitor)}")


def compare_field(old: Field, new: Field, path: str, emit: Emit) -> None:
    """Every change between two definitions of the field at ``path``."""
    nested = _compare_type(old, new, path, emit)
    if old.required and not new.required:
        emit(False, path, "no longer required")
    elif new.required and not old.required:
        emit(True, path, "newly required")
    _compare_allowed(old, new, path, emit)
    _compare_privacy(old, new, path, emit)
    _compare_text(old, new, path, emit)
    if nested and old.logical_type == "object":
        compare_fields(old.children, new.children, f"{path}.", emit)
    elif nested and old.items is not None and new.items is not None:
        compare_field(old.items, new.items, f"{path}[]", emit)


def compare_fields(old: tuple[Field, ...], new: tuple[Field, ...], prefix: str, emit: Emit) -> None:
    """Fields matched by name: removed, added, and changed ones (``prefix`` + name)."""
    new_by_name = {f.name: f for f in new}
    old_names = {f.name for f in old}
    for f in old:
        match = new_by_name.get(f.name)
        if match is None:
            emit(True, prefix + f.name, "removed field")
        else:
            compare_field(f, match, prefix + f.name, emit)
    for f in new:
        if f.name not in old_names:
            kind = "new required field" if f.required else "new optional field"
            emit(f.required, prefix + f.name, f"{kind} ({_describe(f)})")


def _describe(f: Field) -> str:
    if f.logical_type in ("object", "array"):
        return f.logical_type
    return f.physical_type or f.logical_type


def _minimize(action: str, keys: tuple[str, ...]) -> str:
    return f"{action} [{', '.join(keys)}]" if keys else action


def _list(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(values) if values else "(none)"
