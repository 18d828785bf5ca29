"""Sinks: where a channel hands its messages. A file (JSON lines), a webhook (HTTP POST of
JSON) or SMTP. Any object with ``send(message, contact)`` and ``close()`` is a sink.

The file and webhook sinks receive the contact *reference* only (the downstream system
resolves it); only the SMTP sink, which delivers itself, uses the address.

>>> import json, tempfile
>>> from pipeline.channels.contacts import Contact
>>> from pipeline.channels.message import OutboundMessage
>>> path = tempfile.mktemp(suffix=".jsonl")
>>> sink = FileSink(path)
>>> sink.send(OutboundMessage("d", "v", "a", "sms", "p-1", "", "Hi", 1),
...           Contact("p-1", "+4915100000000"))
>>> sink.close()
>>> record = json.loads(open(path).read())
>>> record["contact_ref"], "+4915100000000" in open(path).read()
('p-1', False)
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from pipeline.channels.contacts import Contact
from pipeline.channels.errors import ChannelOptionsError, SinkError
from pipeline.channels.message import OutboundMessage

__all__ = ["FileSink", "Sink", "SmtpOptions", "SmtpSink", "WebhookSink", "build_sink"]


class Sink(Protocol):
    """Takes messages; raises :class:`SinkError` when one cannot be taken now."""

    def send(self, message: OutboundMessage, contact: Contact) -> None:
        """Hand over one message."""
        ...

    def close(self) -> None:
        """Release what the sink holds."""
        ...


class FileSink:
    """Append each message as one JSON line (flushed at once) to ``path``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise ChannelOptionsError(f"cannot open the sink file {path}: {exc}") from None

    def send(self, message: OutboundMessage, contact: Contact) -> None:
        """See :class:`Sink`."""
        try:
            self._file.write(json.dumps(message.as_record(), sort_keys=True) + "\n")
            self._file.flush()
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc}") from None

    def close(self) -> None:
        """See :class:`Sink`."""
        self._file.close()


class WebhookSink:
    """POST each message as JSON to ``url``; a 2xx answer is success.

    >>> WebhookSink("ftp://x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.channels.errors.ChannelOptionsError: the webhook URL must be http(s)://...
    """

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ChannelOptionsError(f"the webhook URL must be http(s)://..., got {url!r}")
        self.url = url
        self.timeout_s = timeout_s

    def send(self, message: OutboundMessage, contact: Contact) -> None:
        """See :class:`Sink`."""
        body = json.dumps(message.as_record()).encode()
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            raise SinkError(f"webhook answered {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SinkError(f"webhook unreachable: {exc}") from None
        if not 200 <= status < 300:
            raise SinkError(f"webhook answered {status}")

    def close(self) -> None:
        """See :class:`Sink`."""


@dataclass(frozen=True)
class SmtpOptions:
    """Where and as whom to send email.

    >>> SmtpOptions().port
    25
    """

    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "offers@rtp.invalid"
    timeout_s: float = 10.0


class SmtpSink:
    """Send each message as an email to the contact's address over SMTP (one connection
    per message: a reference sink, not a bulk mailer)."""

    def __init__(self, options: SmtpOptions) -> None:
        self.options = options

    def send(self, message: OutboundMessage, contact: Contact) -> None:
        """See :class:`Sink`."""
        email = EmailMessage()
        email["From"] = self.options.sender
        email["To"] = contact.address
        email["Subject"] = message.subject or message.action_id
        email["X-RTP-Decision-Id"] = message.decision_id
        email["X-RTP-Action-Id"] = message.action_id
        email.set_content(message.body)
        try:
            with smtplib.SMTP(self.options.host, self.options.port,
                              timeout=self.options.timeout_s) as smtp:
                smtp.send_message(email)
        except (smtplib.SMTPException, OSError) as exc:
            raise SinkError(f"SMTP {self.options.host}:{self.options.port}: {exc}") from None

    def close(self) -> None:
        """See :class:`Sink`."""


def build_sink(spec: str, channel: str, smtp: SmtpOptions | None = None) -> Sink:
    """A sink from ``file:PATH``, ``webhook:URL`` or ``smtp`` (email only).

    >>> build_sink("smtp", "sms")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.channels.errors.ChannelOptionsError: the smtp sink sends email only ...
    """
    kind, _, rest = spec.partition(":")
    if kind == "file" and rest:
        return FileSink(rest)
    if kind == "webhook" and rest:
        return WebhookSink(rest)
    if kind == "smtp":
        if channel != "email":
            raise ChannelOptionsError(f"the smtp sink sends email only (channel {channel!r}): "
                                      "use file:PATH or webhook:URL")
        return SmtpSink(smtp or SmtpOptions())
    raise ChannelOptionsError(
        f"unknown sink {spec!r}: use file:PATH, webhook:URL or smtp (email)")
