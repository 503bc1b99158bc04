"""Sending one message to one destination: HTTP POST of JSON (Slack-compatible or generic
webhook) or e-mail over SMTP, each tried a bounded number of times with backoff. Plain
Python (stdlib), no Spark: a failure is returned, never raised."""

from __future__ import annotations

import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP

from lakehouse.alerts.model import Alert
from lakehouse.alerts.settings import AlertsConfig, Destination
from lakehouse.errors import ConfigError

__all__ = ["Delivery", "deliver", "send_once"]

# CRLF line ends; headers folded only past RFC 5322's 998 characters (Python folds a long
# subject before its first word otherwise, which readers show with a leading space)
_POLICY = SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Delivery:
    """The outcome of delivering one message: sent or not, tries, the last error."""

    sent: bool
    attempts: int
    error: str | None = None


def _post(url: str, body: Mapping[str, object], timeout: float) -> None:
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("the webhook URL must start with http:// or https://")
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "lakehouse-alerts"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        status = response.status
        response.read()
    if not 200 <= status < 300:
        raise OSError(f"HTTP {status}")


def _mail(dest: Destination, password: str, subject: str, text: str, timeout: float) -> None:
    message = EmailMessage(policy=_POLICY)
    message["Subject"] = subject
    message["From"] = dest.sender
    message["To"] = ", ".join(dest.to)
    message.set_content(text)
    with smtplib.SMTP(dest.host, dest.port, timeout=timeout) as smtp:
        if dest.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if dest.username:
            smtp.login(dest.username, password)
        smtp.send_message(message)


def send_once(
    dest: Destination,
    alert: Alert,
    event: str,
    settings: AlertsConfig,
    env: Mapping[str, str] | None = None,
) -> None:
    """One try; raises :class:`OSError` (network, HTTP status, SMTP) or
    :class:`ConfigError` (a secret's variable not set)."""
    secret = dest.secret(env)
    timeout = float(settings.timeout_seconds)
    if dest.type == "slack":
        _post(secret, alert.slack(event, settings.command), timeout)
    elif dest.type == "webhook":
        _post(secret, alert.payload(event, settings.command), timeout)
    else:
        _mail(dest, secret, alert.subject(event), alert.text(event, settings.command), timeout)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{type(exc.reason).__name__}: {exc.reason}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def deliver(
    dest: Destination,
    alert: Alert,
    event: str,
    settings: AlertsConfig,
    *,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send with up to ``settings.attempts`` tries, waiting ``backoff_seconds``, then twice
    as long, between them. A missing secret is not retried (it will not appear)."""
    error = None
    for attempt in range(1, settings.attempts + 1):
        try:
            send_once(dest, alert, event, settings, env)
            return Delivery(True, attempt)
        except ConfigError as exc:
            return Delivery(False, attempt, str(exc))
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            # OSError covers sockets, timeouts, TLS and urllib errors; ValueError a bad URL
            error = _describe(exc)
        if attempt < settings.attempts:
            sleep(settings.backoff_seconds * 2 ** (attempt - 1))
    return Delivery(False, settings.attempts, error)
