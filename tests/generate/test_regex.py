"""Strings a suite's regular expression finds, for fields it constrains beyond the contract."""

from __future__ import annotations

import random
import re

import pytest

from lakehouse.generate.regex import matching_string


@pytest.mark.parametrize(
    "regex",
    [
        r"^[A-Z]{3}$",
        r"^[A-Z]{2}$",
        r"^P-[0-9]{4}(-(gold|free))?$",
        r"^\d+\.\d{2}$",
        r"^[a-z_]\w{2,8}@example\.(com|org)$",
        r"^[^0-9\s]{3,}$",
        r"^(ios|android)-v\d$",
        r"^SKU-\d{5}$",
        r"^.{4}x*$",
        r"[A-F0-9]{8}-[A-F0-9]{4}",
    ],
)
def test_the_string_matches(regex: str) -> None:
    rng = random.Random(5)
    texts = {matching_string(regex, rng) for _ in range(20)}
    assert None not in texts
    assert all(re.search(regex, str(t)) for t in texts)


@pytest.mark.parametrize("regex", [r"^(?=a)b$", r"^(a)\1$", r"^[a-z"])
def test_what_it_cannot_make_is_none(regex: str) -> None:
    assert matching_string(regex, random.Random(5)) is None


def test_the_same_seed_gives_the_same_string() -> None:
    regex = r"^[A-Z]{3}-\d{1,6}$"
    assert matching_string(regex, random.Random(9)) == matching_string(regex, random.Random(9))
