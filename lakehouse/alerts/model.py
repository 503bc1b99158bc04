"""What an alert is about and the text a person reads: plain Python, no Spark.

An :class:`Alert` is an open finding worth waking someone for. Its ``finding_id`` is
derived from what it is about, never from who saw it, so every process that evaluates the
ops tables (``lakehouse alerts check``, each stream's monitoring step) computes the same id
and ``ops.notifications`` holds one message per finding, event and destination:

- ``anomaly``: the ``finding_id`` of the critical row in ``ops.anomalies``;
- ``stalled``: the id :func:`~lakehouse.monitoring.detectors.detect_stall` gives the stall
  (table, job, last batch with rows), the one ``lakehouse anomalies detect`` records;
- ``blocked``: dataset, job and the first batch of a run of blocked batches;
- ``failed``: dataset, job and the time the driver saw the stream fail.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["EVENTS", "KINDS", "Alert", "alert_id", "notification_id"]

KINDS = ("anomaly", "blocked", "stalled", "failed")
EVENTS = ("open", "resolved")


def alert_id(*parts: object) -> str:
    """A stable id of the parts (32 hex digits of SHA-256), the form monitoring uses."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def notification_id(finding_id: str, event: str, destination: str) -> str:
    return alert_id(finding_id, event, destination)


@dataclass(frozen=True)
class Alert:
    """One open finding: where, what was observed against what was expected, and the
    command that shows more."""

    finding_id: str
    kind: str
    severity: str
    dataset: str | None
    table_name: str | None
    job: str
    batch_id: int | None
    observed: str
    expected: str
    detail: str
    detected_ts: datetime

    @property
    def where(self) -> str:
        stream = f"{self.dataset}/{self.job}" if self.dataset else self.job
        return f"{stream}" + (f" ({self.table_name})" if self.table_name else "")

    def command(self, cli: str = "lakehouse") -> str:
        """The command to look closer (the CLI as it is: ``status`` shows every stream)."""
        if self.kind == "anomaly":
            return (
                f'{cli} status; {cli} sql "SELECT * FROM ops.anomalies '
                f"WHERE finding_id = '{self.finding_id}'\""
            )
        if self.kind == "blocked":
            return (
                f'{cli} status; {cli} sql "SELECT * FROM ops.quality_results '
                f"WHERE job = '{self.job}' AND table_name = '{self.table_name}' "
                f'AND batch_id = {self.batch_id} AND NOT success"'
            )
        if self.kind == "stalled":
            return f"{cli} status; {cli} anomalies detect"
        dataset = f" --dataset {self.dataset}" if self.dataset else ""
        return f"{cli} status; {cli} run {self.job.split('-')[0]}{dataset} (restart it)"

    def subject(self, event: str) -> str:
        what = {
            "anomaly": "critical finding",
            "blocked": "batch blocked",
            "stalled": "stream stalled",
            "failed": "stream failed",
        }[self.kind]
        if event == "resolved":
            return f"[lakehouse] RESOLVED {what}: {self.where}"
        return f"[lakehouse] {self.severity.upper()} {what}: {self.where}"

    def text(self, event: str, cli: str = "lakehouse", resolved_ts: datetime | None = None) -> str:
        """The message body: dataset, table, batch, observed against expected, the command."""
        lines = [self.subject(event), ""]
        if event == "resolved":
            when = resolved_ts.isoformat(sep=" ", timespec="seconds") if resolved_ts else "now"
            lines += [f"Resolved at {when} (UTC); it was:", ""]
        lines += [
            f"dataset:  {self.dataset or '-'}",
            f"table:    {self.table_name or '-'}",
            f"stream:   {self.job}",
            f"batch:    {'-' if self.batch_id is None else self.batch_id}",
            f"observed: {self.observed}",
            f"expected: {self.expected}",
            f"detail:   {self.detail}",
            f"since:    {self.detected_ts.isoformat(sep=' ', timespec='seconds')} (UTC)",
            "",
            f"look closer: {self.command(cli)}",
            f"finding id: {self.finding_id}",
        ]
        return "\n".join(lines)

    def payload(self, event: str, cli: str = "lakehouse") -> dict[str, Any]:
        """The generic JSON webhook body."""
        return {
            "source": "lakehouse",
            "event": event,
            "finding_id": self.finding_id,
            "kind": self.kind,
            "severity": self.severity,
            "dataset": self.dataset,
            "table": self.table_name,
            "job": self.job,
            "batch_id": self.batch_id,
            "observed": self.observed,
            "expected": self.expected,
            "detail": self.detail,
            "detected_ts": self.detected_ts.isoformat(),
            "command": self.command(cli),
            "summary": self.subject(event),
        }

    def slack(self, event: str, cli: str = "lakehouse") -> dict[str, Any]:
        """A Slack-compatible incoming-webhook body (``text`` is what every compatible
        receiver shows: Slack, Mattermost, Rocket.Chat, Google Chat)."""
        body = self.text(event, cli).split("\n", 2)[2]
        return {"text": f"*{self.subject(event)}*\n```\n{body}\n```"}
