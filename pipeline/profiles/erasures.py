"""Erasure marks: which ids were erased, kept without the ids, so that reports can leave them out.

The delete-policy topics keep an erased person's records until their retention ends (the
decision log 30 days). After an erasure the profile side writes one mark per id it erased
(the user id and every visitor id) on the compacted ``privacy.erasures`` topic: key
``x.<32 hex>``, HMAC-SHA256 of the id under the pseudonym key
(:mod:`pipeline.profiles.pseudonym`), value a small JSON ``{"erased_at": ms,
"erasure": update id, "ids": n, "profile": bool}``. Nobody without the key can tell whom
a mark names; ``rtp report`` and ``rtp replay`` compute the mark of every record's
visitor (and user) id and leave out what is marked (:class:`ErasedIds`): the person's
decisions no longer count, nor link to anything.

>>> from pipeline.profiles.pseudonym import Pseudonyms
>>> names = Pseudonyms(("erasure-doctest-key-0",))
>>> erased = ErasedIds(names, {erasure_mark("v-ann", names)})
>>> erased.covers({"visitor_id": "v-ann"}), erased.covers({"visitor_id": "v-bob"})
(True, False)
>>> erased.covers({"decision": {"visitor_id": "v-ann"}})  # a DecisionLog record
True
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.profiles.pseudonym import Pseudonyms

__all__ = ["ErasedIds", "decode_mark_value", "encode_mark_value", "erasure_mark", "erasure_marks",
           "ids_of"]

_TAG = b"rtp-erasure-mark-v1\x1f"


def erasure_mark(person_id: str, pseudonyms: Pseudonyms) -> str:
    """The mark of an erased id (a visitor id or a user pseudonym) under the newest key.

    >>> names = Pseudonyms(("erasure-doctest-key-0",))
    >>> mark = erasure_mark("v-1", names)
    >>> mark.startswith("x."), len(mark), mark == erasure_mark("v-1", names)
    (True, 34, True)
    """
    mac = hmac.new(pseudonyms.keys[0].encode(),
                   _TAG + person_id.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return "x." + mac.hexdigest()[:32]


def erasure_marks(person_id: str, pseudonyms: Pseudonyms) -> tuple[str, ...]:
    """The marks of an id under every key, newest first (a rotation keeps old ones valid).

    >>> names = Pseudonyms(("new-key-0123456789", "old-key-0123456789"))
    >>> marks = erasure_marks("v-1", names)
    >>> marks[0] == erasure_mark("v-1", names), len(marks)
    (True, 2)
    """
    return tuple(erasure_mark(person_id, Pseudonyms((key,))) for key in pseudonyms.keys)


def _marks(person_id: str, pseudonyms: Pseudonyms) -> set[str]:
    return set(erasure_marks(person_id, pseudonyms))


def encode_mark_value(erased_at_ms: int, update_id: str, ids: int = 1,
                      profile: bool = False, claims: int = 0) -> bytes:
    """The value of a mark: when, by which erasure, how many ids it erased, whether a
    stored profile was among what it removed and (when any) how many devices that had
    claimed the user id without proof it sent to erasure (:mod:`pipeline.profiles.claims`;
    each gets its own marks). No id of the person.

    >>> decode_mark_value(encode_mark_value(5, "erase-1", ids=3, profile=True))
    {'erased_at': 5, 'erasure': 'erase-1', 'ids': 3, 'profile': True}
    >>> decode_mark_value(encode_mark_value(5, "erase-1", claims=2))["claims"]
    2
    """
    value: dict[str, Any] = {"erased_at": erased_at_ms, "erasure": update_id, "ids": ids,
                             "profile": profile}
    if claims:
        value["claims"] = claims
    return json.dumps(value, separators=(",", ":")).encode()


def decode_mark_value(value: bytes) -> dict[str, Any]:
    """A mark's value as written by :func:`encode_mark_value` (``{}`` when unreadable).

    >>> decode_mark_value(b"garbage")
    {}
    """
    try:
        decoded = json.loads(value)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def ids_of(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The person ids a record carries: visitor id and user id, also inside a DecisionLog.

    >>> ids_of({"visitor_id": "v", "user_id": "u"}), ids_of({"decision": {"visitor_id": "v"}})
    (('v', 'u'), ('v',))
    """
    inner = record.get("decision")
    source = inner if isinstance(inner, Mapping) else record
    return tuple(v for v in (source.get("visitor_id"), source.get("user_id"))
                 if isinstance(v, str) and v)


@dataclass
class ErasedIds:
    """The marks read from ``privacy.erasures``; :meth:`covers` says whether to leave a record
    out. A mark made under any configured key counts (a rotation keeps old marks valid).

    >>> names = Pseudonyms(("new-key-0123456789", "old-key-0123456789"))
    >>> old = Pseudonyms(("old-key-0123456789",))
    >>> ErasedIds(names, {erasure_mark("v-1", old)}).covers({"visitor_id": "v-1"})
    True
    """

    pseudonyms: Pseudonyms
    marks: set[str] = field(default_factory=set)
    #: Records left out so far (what a command reports).
    left_out: int = 0

    def add(self, marks: Iterable[str]) -> None:
        """More marks (as read)."""
        self.marks.update(marks)

    def covers(self, record: Mapping[str, Any] | None) -> bool:
        """Whether ``record`` belongs to an erased id (counted in :attr:`left_out`)."""
        if record is None or not self.marks:
            return False
        for person in ids_of(record):
            if _marks(person, self.pseudonyms) & self.marks:
                self.left_out += 1
                return True
        return False
