"""Channels beyond the page: email and SMS sent from ``personalization.actions``.

The pure core of ``rtp channel email|sms``: an :class:`Outbox` per channel applies the
rules (expiry, consent, purchases on any device, web dismissals, contacts, quiet hours,
frequency caps); a :class:`ContactResolver` maps pseudonymous visitor ids to contacts
outside Kafka; sinks take the messages (file, webhook, SMTP). The Kafka adapter is
``topologies/channel.py``.

>>> from pipeline.channels import QuietHours
>>> str(QuietHours.parse("21:00-08:00"))
'21:00-08:00'
"""

from __future__ import annotations

from pipeline.channels.caps import ContactCaps
from pipeline.channels.contacts import (
    Contact,
    ContactResolver,
    FileContactResolver,
    StaticContactResolver,
)
from pipeline.channels.errors import ChannelError, ChannelOptionsError, SinkError
from pipeline.channels.message import OutboundMessage, render_message
from pipeline.channels.outbox import PAGE_CHANNELS, Outbox, OutboxOptions, Step
from pipeline.channels.quiet import QuietHours
from pipeline.channels.sinks import (
    FileSink,
    Sink,
    SmtpOptions,
    SmtpSink,
    WebhookSink,
    build_sink,
)

__all__ = [
    "PAGE_CHANNELS",
    "ChannelError",
    "ChannelOptionsError",
    "Contact",
    "ContactCaps",
    "ContactResolver",
    "FileContactResolver",
    "FileSink",
    "OutboundMessage",
    "Outbox",
    "OutboxOptions",
    "QuietHours",
    "Sink",
    "SinkError",
    "SmtpOptions",
    "SmtpSink",
    "StaticContactResolver",
    "Step",
    "WebhookSink",
    "build_sink",
    "render_message",
]
