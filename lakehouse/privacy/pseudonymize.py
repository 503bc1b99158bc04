"""Pure DataFrame transforms of data minimization, driven by a table's policy.

Pseudonyms are HMAC-SHA256 of the identifier under a secret key, as lowercase hex, computed
inside Spark without a Python UDF: HMAC(K, m) = SHA256((K ^ opad) || SHA256((K ^ ipad) || m)).
The same identifier always gets the same pseudonym under one key (joins and distinct
counts still work); without the key the identifier cannot be recovered or checked.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.config import MIN_KEY_BYTES
from lakehouse.errors import ConfigError
from lakehouse.policy import Rule

__all__ = [
    "hmac_sha256",
    "minimize",
    "pseudonym",
    "pseudonymize",
    "subject_hash",
    "subject_hash_column",
    "truncate_ip",
]

_BLOCK = 64  # bytes, SHA-256 block size


def _pads(key: bytes) -> tuple[bytes, bytes]:
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"pseudonym key: {len(key)} bytes, it needs at least {MIN_KEY_BYTES}")
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sha256(key: bytes, value: Column) -> Column:
    """HMAC-SHA256 of the UTF-8 bytes of ``value`` under ``key``, as 64 hex digits (null
    stays null); equal to ``hmac.new(key, value, hashlib.sha256).hexdigest()``."""
    ipad, opad = _pads(key)
    inner = F.unhex(F.sha2(F.concat(F.lit(ipad), value.cast("binary")), 256))
    return F.sha2(F.concat(F.lit(opad), inner), 256)


def pseudonym(key: bytes, identifier: str) -> str:
    """The pseudonym of one identifier, in Python (the same value as :func:`hmac_sha256`)."""
    _pads(key)
    return hmac.new(key, identifier.strip().encode(), hashlib.sha256).hexdigest()


def subject_hash(key: bytes, identifier: str) -> str:
    """What an erasure request keeps of its subject: SHA-256 of the pseudonym. It finds the
    subject's rows (their pseudonyms hash to it) but is neither the id nor the pseudonym."""
    return hashlib.sha256(pseudonym(key, identifier).encode()).hexdigest()


def subject_hash_column(pseudonym_column: Column) -> Column:
    """:func:`subject_hash` of a column of pseudonyms."""
    return F.sha2(pseudonym_column, 256)


def truncate_ip(value: Column) -> Column:
    """IPv4 to its /24 (``a.b.c.0``), IPv6 to its /48 (``g1:g2:g3::``); anything else null."""
    text = F.lower(F.trim(value))
    ipv4 = text.rlike(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
    ipv6 = text.contains(":") & text.rlike(r"^[0-9a-f:.]+$")
    head = F.split(text, "::").getItem(0)  # the groups before a '::' (all of them without)
    groups = F.when(head == "", F.array().cast("array<string>")).otherwise(F.split(head, ":"))
    first3 = F.slice(F.concat(groups, F.array_repeat(F.lit("0"), 3)), 1, 3)
    return (
        F.when(ipv4, F.regexp_replace(text, r"\.\d{1,3}$", ".0"))
        .when(ipv6, F.concat(F.concat_ws(":", first3), F.lit("::")))
        .otherwise(F.lit(None).cast("string"))
    )


def pseudonymize(key: bytes, columns: Sequence[str]) -> Callable[[DataFrame], DataFrame]:
    """Replace each of ``columns`` (trimmed identifiers) by its pseudonym."""

    def transform(df: DataFrame) -> DataFrame:
        return df.withColumns({c: hmac_sha256(key, F.trim(F.col(c))) for c in columns})

    return transform


def _apply(rule: Rule, key: bytes) -> Column:
    column = F.col(rule.column)
    if rule.action == "pseudonymize":
        return hmac_sha256(key, F.trim(column))
    if rule.action == "truncate_ip":
        return truncate_ip(column)
    names = F.array(*[F.lit(k) for k in rule.keys]).cast("array<string>")
    if rule.action == "keep_keys":
        kept = F.map_filter(column, lambda k, _v: F.array_contains(names, F.lower(k)))
    else:  # drop_keys
        kept = F.map_filter(column, lambda k, _v: ~F.array_contains(names, F.lower(k)))
    return F.when(F.size(kept) > 0, kept)  # an emptied map becomes null


def minimize(rules: Sequence[Rule], key: bytes) -> Callable[[DataFrame], DataFrame]:
    """Apply a table policy's minimization rules to the columns they name."""

    def transform(df: DataFrame) -> DataFrame:
        return df.withColumns({r.column: _apply(r, key) for r in rules})

    return transform
