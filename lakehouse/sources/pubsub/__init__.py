"""Pub/Sub (not Lite) as a source: a Spark 4 Python data source over the gRPC API, with
acknowledgements after the bronze commit."""

from __future__ import annotations

__all__: list[str] = []
