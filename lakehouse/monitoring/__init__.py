"""Anomaly and drift detection: per-batch metrics of each monitored table
(``ops.table_metrics``), detectors over their history, findings (``ops.anomalies``), and
the readable health views (``lakehouse status``, ``lakehouse report``).

The package stays import-light: :mod:`lakehouse.ops` reads its thresholds."""
