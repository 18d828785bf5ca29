"""Contacts: who a pseudonymous visitor id can be reached at, resolved outside Kafka.

Kafka carries visitor ids only. A :class:`ContactResolver` (pluggable: any object with a
``resolve`` method) maps a visitor id and a channel to a :class:`Contact` or None; the
channel service never sends to a visitor without one. The reference resolver reads a JSON
file exported from the CRM (:class:`FileContactResolver`).

>>> resolver = StaticContactResolver({"v-1": {"person": "p-7", "email": "ann@example.com",
...                                           "time_zone": "Europe/Berlin"}})
>>> contact = resolver.resolve("v-1", "email")
>>> contact.ref, contact.time_zone
('p-7', 'Europe/Berlin')
>>> resolver.resolve("v-1", "sms") is None, resolver.resolve("v-2", "email") is None
(True, True)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipeline.channels.errors import ChannelOptionsError

__all__ = ["Contact", "ContactResolver", "FileContactResolver", "StaticContactResolver"]

#: The address field of each channel in a contact entry.
ADDRESS_FIELDS: dict[str, str] = {"email": "email", "sms": "phone"}


@dataclass(frozen=True)
class Contact:
    """Where to reach a person on one channel.

    ``ref`` is an opaque reference to the person (never the address): frequency caps
    count per ``ref``, and the file and webhook sinks receive only it. ``address`` is used
    by a sink that must deliver itself (SMTP). ``time_zone`` (IANA) sets their quiet hours.

    >>> Contact("p-1", "ann@example.com").time_zone is None
    True
    """

    ref: str
    address: str
    time_zone: str | None = None

    def __repr__(self) -> str:  # never print an address in a log or a traceback
        return f"Contact(ref={self.ref!r}, time_zone={self.time_zone!r})"


class ContactResolver(Protocol):
    """Any object that resolves a visitor id and a channel to a :class:`Contact` or None."""

    def resolve(self, visitor_id: str, channel: str) -> Contact | None:
        """The contact of ``visitor_id`` on ``channel``, or None (then nothing is sent)."""
        ...


class StaticContactResolver:
    """Contacts from a mapping: visitor id → ``{person, email, phone, time_zone}``.

    ``person`` (optional) names the person, so several visitor ids (devices) share one
    contact and its caps; without it the reference is a hash of the address.

    >>> r = StaticContactResolver({"a": {"email": "x@example.com"},
    ...                            "b": {"email": "x@example.com"}})
    >>> r.resolve("a", "email").ref == r.resolve("b", "email").ref
    True
    """

    def __init__(self, entries: Mapping[str, Mapping[str, Any]]) -> None:
        self.entries = {str(k): dict(v) for k, v in entries.items()}

    def resolve(self, visitor_id: str, channel: str) -> Contact | None:
        """See :class:`ContactResolver`."""
        entry = self.entries.get(visitor_id)
        field = ADDRESS_FIELDS.get(channel)
        if entry is None or field is None:
            return None
        address = entry.get(field)
        if not isinstance(address, str) or not address:
            return None
        person = entry.get("person")
        ref = str(person) if person else "c-" + hashlib.sha256(address.encode()).hexdigest()[:16]
        zone = entry.get("time_zone")
        return Contact(ref, address, str(zone) if zone else None)


class FileContactResolver(StaticContactResolver):
    """:class:`StaticContactResolver` over a JSON file (an object keyed by visitor id).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    ...     _ = f.write('{"v-1": {"phone": "+4915100000000"}}')
    >>> FileContactResolver(f.name).resolve("v-1", "sms").address
    '+4915100000000'
    """

    def __init__(self, path: Path | str) -> None:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ChannelOptionsError(f"cannot read the contacts file {path}: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ChannelOptionsError(f"the contacts file {path} must be a JSON object: "
                                      "visitor id -> {person, email, phone, time_zone}")
        super().__init__(data)
