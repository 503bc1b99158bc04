"""What a field's name says it holds."""

from __future__ import annotations

import pytest

from lakehouse.contracts.names import name_class, tokens


def test_tokens_split_snake_camel_and_dashes() -> None:
    assert tokens("customerId") == ["customer", "id"]
    assert tokens("client-IP_address") == ["client", "ip", "address"]


@pytest.mark.parametrize(
    ("name", "parent", "expected"),
    [
        ("user_id", None, "person_id"),
        ("customerId", None, "person_id"),
        ("session_id", None, "person_id"),
        ("userid", None, "person_id"),
        ("id", "customer", "person_id"),
        ("id", "experiment", None),
        ("order_id", None, None),
        ("event_id", None, None),
        ("ip", None, "ip"),
        ("client_ip", None, "ip"),
        ("ip_address", None, "ip"),
        ("email", None, "email"),
        ("contactEmail", None, "email"),
        ("email_address", None, "email"),
        ("phone", None, "phone"),
        ("mobile_number", None, "phone"),
        ("name", None, "name"),
        ("name", "customer", "name"),
        ("name", "experiment", None),
        ("first_name", "anything", "name"),
        ("username", None, "name"),
        ("product_name", None, None),
        ("shipping_address", None, "address"),
        ("zip", "shipping", "address"),
        ("postal_code", None, "address"),
        ("zipper_size", None, None),
        ("country", None, None),
        ("amount", None, None),
    ],
)
def test_name_class(name: str, parent: str | None, expected: str | None) -> None:
    assert name_class(name, parent) == expected
