"""Cost as a signal: the Spark task metrics of each batch (:mod:`.capture`), cost per million
events per layer and its trend (:mod:`.rates`), the cost-rise detector (:mod:`.detector`)
and the Dataproc price estimate (:mod:`.price`)."""

from __future__ import annotations
