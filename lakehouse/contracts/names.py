"""What a field's name says it holds: a person's id, an IP, an e-mail, a phone, a name or an
address (``customerId``, ``client_ip``, ``shipping_address``...), for the draft of a contract.

A bare ``id`` or ``name`` is personal only at the top level or inside an object named after a
person (``customer.id``, ``user.name``); ``product_name`` is not a person's name.
"""

from __future__ import annotations

import re

__all__ = ["name_class", "tokens"]

_PERSON = frozenset(
    {
        *("user", "customer", "client", "account", "member", "person", "patient", "employee"),
        *("subscriber", "visitor", "session", "anonymous", "buyer", "shopper", "player"),
        *("student", "guest", "profile", "contact", "device", "cookie", "owner"),
    }
)
_NAME_OF = frozenset(
    {
        *("first", "last", "full", "given", "family", "middle", "display", "user", "customer"),
        *("contact", "person", "recipient", "holder", "buyer", "maiden", "nick"),
    }
)
_PHONE = frozenset({"phone", "mobile", "telephone", "tel", "msisdn", "fax"})
_ADDRESS = frozenset({"address", "street", "postcode", "zipcode", "zip", "postal", "addr"})
_NOT_POSTAL = frozenset({"ip", "email", "mail", "mac", "wallet"})
_EMAIL = frozenset({"email", "mail"})
_IP_NAMES = frozenset({"ip", "ipv4", "ipv6", "ipaddress", "ipaddr", "remote_addr"})


def tokens(name: str) -> list[str]:
    """``customerId`` -> customer, id; ``ip-address`` -> ip, address."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def name_class(name: str, parent: str | None) -> str | None:
    """What a field's name says it holds: person_id, ip, email, phone, name, address or None
    (``parent``: the enclosing object's name, for a bare ``id`` or ``name``)."""
    words = tokens(name)
    if not words:
        return None
    lower = "".join(words)
    context = set(tokens(parent or "")) & _PERSON
    if (len(words) >= 2 and words[-1] == "id" and words[-2] in _PERSON) or lower in {
        f"{p}id" for p in _PERSON
    }:
        return "person_id"
    if lower in ("id", "uid") and context:
        return "person_id"
    if lower in _IP_NAMES or "ip" in words:
        return "ip"
    if set(words) & _EMAIL:
        return "email"
    if set(words) & _PHONE:
        return "phone"
    if words[-1] in ("name", "surname", "username", "nickname") and (
        words[-1] != "name"
        or (len(words) >= 2 and words[-2] in _NAME_OF)
        or (len(words) == 1 and (parent is None or context))
    ):
        return "name"
    if set(words) & _ADDRESS and not set(words) & _NOT_POSTAL:
        return "address"
    return None
