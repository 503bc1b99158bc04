"""Which SQL statements only read: ``lakehouse sql`` runs those, and the others only with
``--allow-writes``.

The statement is classified from the logical plan Spark's own parser (with Delta's
extension) makes of it, not from its words: comments, CTEs and odd spacing cannot hide a
``DELETE``. A statement reads when its plan is a query (no node of it is a command or a
write statement), or when it is one of the commands that show or describe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession

from lakehouse.engine_errors import is_engine_error, root_cause
from lakehouse.errors import LakehouseError

__all__ = ["Statement", "classify"]

# commands that only show or describe (their simple class names in Spark 4.1 and Delta 4.2)
_READ_COMMANDS = frozenset(
    {
        "DescribeColumn",
        "DescribeDeltaDetailCommand",
        "DescribeDeltaHistory",
        "DescribeFunction",
        "DescribeNamespace",
        "DescribeQueryCommand",
        "DescribeRelation",
        "ExplainCommand",
        "ShowCatalogs",
        "ShowColumns",
        "ShowCreateTable",
        "ShowFunctions",
        "ShowNamespaces",
        "ShowPartitions",
        "ShowTableExtended",
        "ShowTableProperties",
        "ShowTables",
        "ShowViews",
    }
)
# plan nodes that write but are not Spark commands before analysis
_WRITE_STATEMENTS = frozenset({"Call", "InsertIntoDir", "InsertIntoStatement"})
_COMMAND = "org.apache.spark.sql.catalyst.plans.logical.Command"
_PLAN = "org.apache.spark.sql.catalyst.plans.logical.LogicalPlan"
_RELATION = "org.apache.spark.sql.catalyst.analysis.UnresolvedRelation"
_DELTA_PACKAGES = ("io.delta.", "org.apache.spark.sql.delta.")


@dataclass(frozen=True)
class Statement:
    """A parsed statement: the class of its plan's root (``DeleteFromTable``), whether it
    only reads, and the node that makes it a write when it does not. ``tables``: for a
    query (not a command), the names (``layer.table``, lower case) its plan and its
    subqueries read from, CTE names among them; None for a command."""

    kind: str
    reads_only: bool
    writer: str | None
    tables: tuple[str, ...] | None = None


def _nodes(plan: Any, plan_class: Any, limit: int = 10_000) -> list[Any]:
    """Every node of a parsed plan: children, inner children (CTE definitions) and the plans
    of subquery expressions (``IN (SELECT ...)``, ``EXISTS``, scalar subqueries)."""
    nodes: list[Any] = []
    todo = [plan]
    while todo and len(nodes) < limit:
        node = todo.pop()
        nodes.append(node)
        for seq in (node.children(), node.innerChildren(), node.subqueries()):
            children = (seq.apply(i) for i in range(seq.size()))
            todo.extend(c for c in children if plan_class.isInstance(c))
        if node.getClass().getSimpleName() == "RelationTimeTravel":
            todo.append(node.relation())  # VERSION AS OF: the relation is a field, no child
    return nodes


def _writes(node: Any, command: Any) -> bool:
    name = node.getClass().getName()
    simple = node.getClass().getSimpleName()
    return (
        bool(command.isInstance(node))
        or simple in _WRITE_STATEMENTS
        or simple.endswith("Statement")
        or name.startswith(_DELTA_PACKAGES)
    )


def classify(spark: SparkSession, statement: str) -> Statement:
    """Parse ``statement`` (nothing runs) and say whether it only reads. A statement Spark
    cannot parse raises Spark's ``ParseException``."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    parser = spark._jsparkSession.sessionState().sqlParser()
    try:
        plan = parser.parsePlan(statement)
    except Exception as exc:
        if not is_engine_error(exc):
            raise
        raise LakehouseError(f"query failed: {root_cause(exc)}") from exc
    command = jvm.java.lang.Class.forName(_COMMAND)
    kind = str(plan.getClass().getSimpleName())
    if kind in _READ_COMMANDS:
        return Statement(kind, True, None)
    relation = jvm.java.lang.Class.forName(_RELATION)
    tables: dict[str, None] = {}
    for node in _nodes(plan, jvm.java.lang.Class.forName(_PLAN)):
        if _writes(node, command):
            return Statement(kind, False, str(node.getClass().getSimpleName()))
        if relation.isInstance(node):
            parts = node.multipartIdentifier()
            name = [str(parts.apply(i)).lower() for i in range(parts.size())]
            if len(name) == 3 and name[0] == "spark_catalog":
                name = name[1:]
            tables[".".join(name)] = None
    return Statement(kind, True, None, tuple(tables))
