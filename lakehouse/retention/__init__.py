"""Retention and erasure: delete what is past its window or asked to be erased, then purge it
physically from the files (``REORG TABLE ... APPLY (PURGE)``, then ``VACUUM``)."""

from __future__ import annotations

__all__: list[str] = []
