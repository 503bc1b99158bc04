"""Pub/Sub Lite for Spark 4: a Python Data Source over the Pub/Sub Lite gRPC API."""

from __future__ import annotations

__all__: list[str] = []
