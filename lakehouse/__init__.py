"""Streaming lakehouse: bronze, silver and gold Delta tables with quality gates."""

from __future__ import annotations

from lakehouse.errors import ConfigError, LakehouseError, SourceError, TableError

__all__ = ["ConfigError", "LakehouseError", "SourceError", "TableError", "__version__"]

__version__ = "0.1.0"
