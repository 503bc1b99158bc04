"""Lineage you can debug with: where one event went (``trace_event``), what one gold row was
computed from (``trace_gold``), and the dataset -> table -> gold graph of the report
(``lineage_edges``, ``lineage_svg``). Nothing here knows a field of any one dataset: event
ids, event times and gold keys come from the contract and the gold SQL headers."""

from __future__ import annotations
