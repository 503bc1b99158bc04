"""Read-only sessions for Spark's Thrift JDBC/ODBC server: a check rule in Spark's analyzer
refuses every statement whose analysed plan holds a command that is not a show, describe,
explain, use or set, before it runs.

Spark Connect requests pass through the server's own gRPC proxy, which refuses writes
(:mod:`lakehouse.serve.proxy`). The Thrift server has no such door: it runs each JDBC
statement in a session of its own (``SparkSession.newSession()``, one per connection). Those
sessions are built with the extensions of the server's session, and Spark's
``SparkSessionExtensions`` can take a check rule at any time; a session built before it (the
server's own, which registers tables) keeps running without it. The rule is a small Java
class compiled in the driver's JVM with Janino (which Spark ships for its code generation),
so the project builds no jar. Every session made after it is installed (the Thrift server's
and Spark Connect's) refuses writes.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession

from lakehouse.errors import ConfigError
from lakehouse.serve.local_query import REFUSED

__all__ = ["READ_COMMANDS", "refuse_writes_in_new_sessions"]

# analysed commands that only show, describe, explain or set the session's namespace or
# settings (their simple class names in Spark 4.1 and Delta 4.2); every other command writes
# or may, and is refused (CACHE TABLE included: it fills the server's shared memory)
READ_COMMANDS = (
    "DescribeColumn",
    "DescribeColumnCommand",
    "DescribeDeltaDetailCommand",
    "DescribeDeltaHistoryCommand",
    "DescribeFunctionCommand",
    "DescribeNamespace",
    "DescribeNamespaceCommand",
    "DescribeQueryCommand",
    "DescribeRelation",
    "DescribeTableCommand",
    "ExplainCommand",
    "ResetCommand",
    "SetCatalogAndNamespace",
    "SetCatalogCommand",
    "SetCommand",
    "SetNamespaceCommand",
    "ShowCatalogsCommand",
    "ShowColumnsCommand",
    "ShowCreateTable",
    "ShowCreateTableCommand",
    "ShowCurrentNamespaceCommand",
    "ShowDeltaTableColumnsCommand",
    "ShowFunctionsCommand",
    "ShowNamespaces",
    "ShowNamespacesCommand",
    "ShowPartitionsCommand",
    "ShowTableExtended",
    "ShowTableProperties",
    "ShowTablePropertiesCommand",
    "ShowTables",
    "ShowTablesCommand",
    "ShowViews",
    "ShowViewsCommand",
)

_RULE = """
package lakehouse.serve;

public class ReadOnly extends scala.runtime.AbstractFunction1 {
  public Object apply(Object session) { return new Check(); }

  public static class Check extends scala.runtime.AbstractFunction1 {
    static final java.util.Set READS =
        new java.util.HashSet(java.util.Arrays.asList(new String[] {%(reads)s}));

    public Object apply(Object plan) {
      check((org.apache.spark.sql.catalyst.plans.logical.LogicalPlan) plan);
      return scala.runtime.BoxedUnit.UNIT;
    }

    private static void check(org.apache.spark.sql.catalyst.plans.logical.LogicalPlan plan) {
      String name = plan.getClass().getSimpleName();
      if (plan instanceof org.apache.spark.sql.catalyst.plans.logical.Command
          && !READS.contains(name)) {
        throw new SecurityException("%(refused)s (SQL "
            + name + "); start the server with --allow-writes to let clients change tables");
      }
      scala.collection.Seq children = plan.children();
      for (int i = 0; i < children.size(); i++) {
        check((org.apache.spark.sql.catalyst.plans.logical.LogicalPlan) children.apply(i));
      }
    }
  }
}
"""

_SINGLE_SESSION = "spark.sql.hive.thriftServer.singleSession"


def refuse_writes_in_new_sessions(spark: SparkSession) -> None:
    """Install the read-only check in the extensions ``spark``'s new sessions are built with.

    The Thrift server must give each connection a session of its own: with
    ``spark.sql.hive.thriftServer.singleSession`` they would all share ``spark``'s, which has
    no check, so that setting is an error here."""
    if (spark.conf.get(_SINGLE_SESSION, "false") or "").lower() == "true":
        raise ConfigError(
            f"{_SINGLE_SESSION} = true gives every JDBC client the server's own session, "
            "which cannot refuse writes; remove it from [spark] extra, or pass --allow-writes"
        )
    jvm: Any = spark.sparkContext._jvm
    compiler = jvm.org.codehaus.janino.SimpleCompiler()
    compiler.setParentClassLoader(jvm.java.lang.Thread.currentThread().getContextClassLoader())
    reads = ", ".join(f'"{name}"' for name in READ_COMMANDS)
    compiler.cook(_RULE % {"reads": reads, "refused": REFUSED})
    rule = compiler.getClassLoader().loadClass("lakehouse.serve.ReadOnly").newInstance()
    spark._jsparkSession.extensions().injectCheckRule(rule)
