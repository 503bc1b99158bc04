"""Which Spark Connect requests write: the request's protobuf (``pyspark.sql.connect.proto``)
is walked whole, and every command, catalog operation and SQL text in it is checked.

A request is refused when it holds a command that is not on the read list (writes, merges,
streams, data source and ML commands, plugins' extensions), a catalog operation that creates
a table or changes partitions, or SQL text (``spark.sql``, ``SqlCommand``) that the given
check calls a write (:func:`lakehouse.sql_guard.classify` in the server). Nothing here
starts Spark: the SQL check is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from google.protobuf.message import Message

__all__ = ["READ_COMMANDS", "SqlCheck", "refusal", "walk"]

# a SQL text -> None when it only reads, else the plan node that writes
SqlCheck = Callable[[str], "str | None"]

# Command types that change no table: temporary views and functions of the session, the
# reads of streaming query state, cached relations and checkpoints of the session
READ_COMMANDS = frozenset(
    {
        "sql_command",  # its SQL text is checked on its own
        "create_dataframe_view",
        "register_function",
        "register_table_function",
        "get_resources_command",
        "remove_cached_remote_relation_command",
        "checkpoint_command",
    }
)
_WRITE_CATALOG = frozenset({"create_table", "create_external_table", "recover_partitions"})
_SQL_MESSAGES = {"spark.connect.SQL": "query", "spark.connect.SqlCommand": "sql"}


def walk(message: Message) -> Iterator[Message]:
    """``message`` and every message inside it (fields, repeated fields, map values)."""
    todo = [message]
    while todo:
        current = todo.pop()
        yield current
        for _, value in current.ListFields():
            if isinstance(value, Message):
                todo.append(value)
            elif isinstance(value, (str, bytes, int, float, bool)):
                continue
            else:
                items: Any = value.values() if hasattr(value, "values") else value
                todo.extend(v for v in items if isinstance(v, Message))


def refusal(request: Message, check_sql: SqlCheck) -> str | None:
    """None when ``request`` only reads, else what in it writes (one line)."""
    for message in walk(request):
        name = message.DESCRIPTOR.full_name
        if name == "spark.connect.Command":
            kind = message.WhichOneof("command_type")
            if kind is not None and kind not in READ_COMMANDS:
                return f"the {kind} command"
        elif name == "spark.connect.Catalog":
            kind = message.WhichOneof("cat_type")
            if kind in _WRITE_CATALOG:
                return f"catalog.{kind}"
        elif name in _SQL_MESSAGES:
            text = getattr(message, _SQL_MESSAGES[name])
            if text:
                writer = check_sql(text)
                if writer is not None:
                    return f"SQL {writer}"  # a parse error here is refused too: a session
                # setting (e.g. ANSI mode off) could make Spark parse what we cannot
    return None
