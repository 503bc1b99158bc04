"""String normalization at silver: what a code or a name may not carry.

Control characters (Unicode category Cc: NUL, BEL, ESC, DEL, C1 controls ...) and format
characters (Cf: zero-width spaces and joiners, bidi overrides) are invisible: a country
``"\\u0000\\u0007ES"`` prints as ``ES`` yet is another value, so it would be its own group in
gold. They are removed from the fields the contract marks as codes, before trimming and
case folding; :func:`removed_characters` counts what went.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

__all__ = ["INVISIBLE", "removed_characters", "strip_invisible"]

# Java regex classes (Spark's regexp_replace): control and format characters
INVISIBLE = r"[\p{Cc}\p{Cf}]"


def strip_invisible(value: Column) -> Column:
    """``value`` without control and format characters (null stays null)."""
    return F.regexp_replace(value, INVISIBLE, "")


def removed_characters(value: Column) -> Column:
    """How many control and format characters :func:`strip_invisible` removes (0 for null)."""
    return F.coalesce(F.length(value) - F.length(strip_invisible(value)), F.lit(0))
