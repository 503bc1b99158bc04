"""Alerts: tell a person about critical findings, blocked batches, stalled and failed
streams (Slack-compatible and JSON webhooks, e-mail), once per finding, with ops.notifications
as the shared state."""
