"""The message a channel sends, rendered from a Decision's payload.

>>> decision = {"decision_id": "d-1", "visitor_id": "v-1", "action_id": "cart_reminder_email",
...             "channel": "email", "created_at": 5, "ttl_ms": 1000,
...             "payload": {"subject": "Hi", "body": "Your cart", "code": "WELCOME10"}}
>>> m = render_message(decision, "p-7")
>>> m.subject, m.body, m.contact_ref, m.fields["code"]
('Hi', 'Your cart', 'p-7', 'WELCOME10')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OutboundMessage", "render_message"]


@dataclass(frozen=True)
class OutboundMessage:
    """One message for a sink: ids, the contact reference, and the rendered text.

    ``as_record`` is what the file and webhook sinks write: no address, no personal data.

    >>> OutboundMessage("d", "v", "a", "sms", "p", "", "Hi", 1).as_record()["contact_ref"]
    'p'
    """

    decision_id: str
    visitor_id: str
    action_id: str
    channel: str
    contact_ref: str
    subject: str
    body: str
    created_at: int
    fields: Mapping[str, str] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        """A JSON-ready dict of the message."""
        return {"decision_id": self.decision_id, "visitor_id": self.visitor_id,
                "action_id": self.action_id, "channel": self.channel,
                "contact_ref": self.contact_ref, "subject": self.subject, "body": self.body,
                "created_at": self.created_at, "fields": dict(self.fields)}


def render_message(decision: Mapping[str, Any], contact_ref: str) -> OutboundMessage:
    """The message of ``decision``: ``subject`` and ``body`` (or ``text``, or ``headline``)
    from its payload; every other payload field is kept in ``fields``.

    >>> render_message({"decision_id": "d", "visitor_id": "v", "action_id": "a",
    ...                 "channel": "sms", "created_at": 1, "payload": {"text": "Hi"}}, "p").body
    'Hi'
    """
    payload = {str(k): str(v) for k, v in (decision.get("payload") or {}).items()}
    subject = payload.pop("subject", "")
    body = payload.pop("body", None) or payload.pop("text", None) or payload.get("headline", "")
    return OutboundMessage(
        decision_id=str(decision["decision_id"]), visitor_id=str(decision["visitor_id"]),
        action_id=str(decision["action_id"]), channel=str(decision.get("channel", "web")),
        contact_ref=contact_ref, subject=subject, body=body,
        created_at=int(decision["created_at"]), fields=payload)
