"""A string that a regular expression finds (``RLIKE`` semantics), for suites that constrain
a field with ``expect_column_values_to_match_regex``.

Covers what suites write: literals, classes and ranges, ``\\d \\w \\s``, ``.``, groups,
alternatives, repeats and anchors. Look-arounds and back-references are not generated:
:func:`matching_string` returns ``None`` and the caller says which expectation it cannot meet.
"""

from __future__ import annotations

import random
import re
import string
import warnings
from functools import lru_cache
from typing import Any

with warnings.catch_warnings():  # the parser of the re module, public under this name only
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as C
    import sre_parse

__all__ = ["matching_string"]

_MAX_EXTRA = 3  # an open repeat (``+``, ``*``, ``{2,}``) adds at most this many
_ALPHABET = string.ascii_letters + string.digits + "-_"
_CATEGORIES = {
    C.CATEGORY_DIGIT: string.digits,
    C.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    C.CATEGORY_SPACE: " ",
    C.CATEGORY_NOT_DIGIT: string.ascii_letters,
    C.CATEGORY_NOT_WORD: "-. ",
    C.CATEGORY_NOT_SPACE: _ALPHABET,
}


class _Unsupported(Exception):
    pass


def _members(items: list[tuple[Any, Any]]) -> str:
    chars: list[str] = []
    negate = False
    for op, arg in items:
        if op == C.NEGATE:
            negate = True
        elif op == C.LITERAL:
            chars.append(chr(arg))
        elif op == C.RANGE:
            low, high = arg
            chars.extend(chr(c) for c in range(low, min(high, low + 94) + 1))
        elif op == C.CATEGORY and arg in _CATEGORIES:
            chars.extend(_CATEGORIES[arg])
        else:
            raise _Unsupported(op)
    if negate:
        return "".join(c for c in _ALPHABET if c not in chars)
    return "".join(chars)


def _emit(pattern: Any, rng: random.Random) -> str:
    out: list[str] = []
    for op, arg in pattern:
        if op == C.LITERAL:
            out.append(chr(arg))
        elif op == C.NOT_LITERAL:
            out.append(rng.choice([c for c in _ALPHABET if ord(c) != arg]))
        elif op == C.ANY:
            out.append(rng.choice(_ALPHABET))
        elif op == C.IN:
            out.append(rng.choice(_members(arg) or "?"))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            low, high, inner = arg
            top = low + _MAX_EXTRA if high == C.MAXREPEAT else min(high, low + _MAX_EXTRA)
            out.extend(_emit(inner, rng) for _ in range(rng.randint(low, max(low, top))))
        elif op == C.SUBPATTERN:
            out.append(_emit(arg[-1], rng))
        elif op == C.BRANCH:
            out.append(_emit(rng.choice(arg[1]), rng))
        elif op == C.AT:
            continue  # anchors: the text generated is the whole value
        else:
            raise _Unsupported(op)
    return "".join(out)


@lru_cache(maxsize=256)
def _parsed(regex: str) -> tuple[Any, re.Pattern[str]] | None:
    try:
        return sre_parse.parse(regex), re.compile(regex)
    except re.error:
        return None


def matching_string(regex: str, rng: random.Random, attempts: int = 20) -> str | None:
    """A string in which ``regex`` finds a match, or ``None`` when it uses constructs this
    generator does not produce (look-arounds, back-references) or no attempt matched."""
    known = _parsed(regex)
    if known is None:
        return None
    parsed, compiled = known
    for _ in range(attempts):
        try:
            text = _emit(parsed, rng)
        except _Unsupported:
            return None
        if compiled.search(text):
            return text
    return None
