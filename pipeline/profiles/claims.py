"""The claim index: which devices named a user id without proof, so that its erasure finds them.

A user id a browser sends without a valid ``userHash`` becomes a per-device claim
``c.<hex>`` (:func:`~pipeline.profiles.pseudonym.device_claim`): keyed by the device *and*
the user id, it cannot be recomputed from the user id alone, and it never links the device
to the person. Yet the device's records carry it, so an erasure of that user id must reach
every device that claimed it. For that the collector writes, next to the device's records,
one ``claim`` ProfileUpdate (:func:`claim_update`) on ``profiles.updates``: keyed by the
**pseudonym** of the claimed user id (the newest key's), naming the device. Keyed like the
person's own updates, it lands on the partition of the person's profile and is read in
order with a later erasure of that pseudonym.

The profile side keeps the devices per pseudonym in its ``claims`` table (a JSON list of
visitor ids, :func:`add_claim`; changelog compacted). An erasure of the pseudonym pops the
entry (a tombstone on the changelog) and produces one erasure per claiming device
(:func:`device_erasures`, keyed by the device): each is then erased as a visitor id is —
its state, view, delivery's decisions, anonymous profile and records. A pseudonym under an
older key (before a rotation) is found too: the erasure names the user id under every key.

The entry is an index, not a link: nothing reads it but the erasure, views never fan out
along it, and a device's claims show up in no one's profile.

**An erasure of the device unclaims it.** An erasure by visitor id is keyed by the device,
on another partition than the entries that name it, so the index keeps a reverse entry per
device: the pseudonyms it claimed. The two sides talk through the profile side's internal
topic of :class:`ClaimLink` records, each sent to the partition of the id it changes
(compacted, keyed by :func:`link_keys`, never an id in clear; tombstoned once applied):

- indexing a claim sends ``claimed`` to the device's side (:func:`device_step`), which adds
  the pseudonym to the reverse entry and sends ``confirmed`` back (:func:`person_step`);
- every id an erasure removes sends ``erased`` to its own side: the reverse entry goes, the
  time is kept (under the device's erasure mark, never its id) and each pseudonym in it
  gets an ``unclaim``, which takes the device out of that entry (the entry goes when empty);
- a ``claimed`` no later than the device's erasure (in flight while it was erased, or
  indexed again on a replay) is answered by an ``unclaim`` at once.

The device's side decides, in its partition's order, and the person's side follows its
decisions in the same order: whatever the interleaving of claims and erasures, an entry
ends up naming a device exactly when a claim of it came after its last erasure. An
``unclaim`` of a device not in the entry, or a second one, changes nothing.

>>> step = device_step(None, None, ClaimLink(CLAIMED, "v-laptop", "u.1", 5))
>>> step = device_step(step.entry, None, ClaimLink(ERASED, "v-laptop", None, 9))
>>> step.entry, step.erased_at, [(u.op, u.person) for u in step.sends]
(None, 9, [('unclaim', 'u.1')])
>>> remove_claim(b'["v-laptop","v-phone"]', "v-laptop")
('v-phone',)

>>> entry = add_claim(None, "v-laptop")
>>> entry = add_claim(entry, "v-phone")
>>> claimed_devices(entry), add_claim(entry, "v-phone") is None  # already there: unchanged
(('v-laptop', 'v-phone'), True)
>>> [u["visitor_id"] for u in device_erasures("erase-1", claimed_devices(entry), 5)]
['v-laptop', 'v-phone']
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.profiles.errors import ProfileError
from pipeline.profiles.pseudonym import Pseudonyms

__all__ = ["CLAIMED", "CONFIRMED", "ERASED", "MAX_CLAIMING_DEVICES", "UNCLAIM", "ClaimLink",
           "DeviceStep",
           "add_claim", "claim_update", "claimed_devices", "decode_link", "device_erasures",
           "device_step", "encode_entry", "encode_erased_at", "encode_link", "erased_at_of",
           "link_keys", "person_step", "remove_claim"]

#: Most devices kept per claimed user id (a value of ~0.5 MB): further claims are not
#: indexed (an erasure of that user id then misses them; the profile side logs it).
MAX_CLAIMING_DEVICES = 10_000


def claim_update(visitor_id: str, person: str, event_time: int) -> dict[str, Any]:
    """The ``claim`` ProfileUpdate the collector produces, keyed by ``person`` (the pseudonym
    of the user id ``visitor_id`` named without proof). Its id is a digest of the pair: the
    same claim sent twice is the same update.

    >>> update = claim_update("v1", "u." + "0" * 32, 5)
    >>> update["kind"], update["visitor_id"], update["user_id"][:2], update["update_id"][:6]
    ('claim', 'v1', 'u.', 'claim.')
    >>> update["update_id"] == claim_update("v1", "u." + "0" * 32, 9)["update_id"]
    True
    """
    digest = hashlib.sha256(f"{visitor_id}\x1f{person}".encode("utf-8", "surrogatepass"))
    return {"update_id": "claim." + digest.hexdigest()[:32], "kind": "claim",
            "visitor_id": visitor_id, "user_id": person, "event_time": event_time,
            "traits": {}, "consent": None}


def claimed_devices(stored: bytes | None) -> tuple[str, ...]:
    """The devices in a stored entry (``()`` for none or an unreadable one).

    >>> claimed_devices(None), claimed_devices(b'["v1"]'), claimed_devices(b"garbage")
    ((), ('v1',), ())
    """
    if not stored:
        return ()
    try:
        devices = json.loads(stored)
    except ValueError:
        return ()
    if not isinstance(devices, list):
        return ()
    return tuple(d for d in devices if isinstance(d, str) and d)


def add_claim(stored: bytes | None, visitor_id: str,
              limit: int = MAX_CLAIMING_DEVICES) -> bytes | None:
    """The entry with ``visitor_id`` added; None when nothing changes (the device is
    already there, or the entry holds ``limit`` devices).

    >>> add_claim(b'["v1"]', "v2"), add_claim(b'["v1"]', "v2", limit=1)
    (b'["v1","v2"]', None)
    """
    devices = claimed_devices(stored)
    if visitor_id in devices or len(devices) >= limit:
        return None
    return encode_entry([*devices, visitor_id])


def device_erasures(update_id: str, devices: Iterable[str],
                    event_time: int) -> list[dict[str, Any]]:
    """One ``erasure`` ProfileUpdate per claiming device (keyed by the device when produced),
    with ids derived from the erasure that found them.

    >>> [(u["update_id"], u["kind"], u["user_id"]) for u in device_erasures("e1", ["v9"], 5)]
    [('e1-claim-0', 'erasure', None)]
    """
    return [{"update_id": f"{update_id}-claim-{i}", "kind": "erasure", "visitor_id": device,
             "user_id": None, "event_time": event_time, "traits": {}, "consent": None}
            for i, device in enumerate(devices)]


def encode_entry(ids: Iterable[str]) -> bytes | None:
    """An entry's stored value; None when it holds nothing (the entry goes).

    >>> encode_entry(["v1", "v2"]), encode_entry([])
    (b'["v1","v2"]', None)
    """
    listed = list(ids)
    return json.dumps(listed, separators=(",", ":")).encode() if listed else None


def remove_claim(stored: bytes | None, visitor_id: str) -> tuple[str, ...] | None:
    """What is left of the entry without ``visitor_id`` (``()``: nothing, the entry goes);
    None when nothing changes (the device is not in it, or there is no entry).

    >>> remove_claim(b'["v1","v2"]', "v2"), remove_claim(b'["v1"]', "v1")
    (('v1',), ())
    >>> remove_claim(b'["v1"]', "v9"), remove_claim(None, "v1")
    (None, None)
    """
    devices = claimed_devices(stored)
    if visitor_id not in devices:
        return None
    return tuple(d for d in devices if d != visitor_id)


#: :attr:`ClaimLink.op`, to the device's side: a device's claim was indexed under
#: :attr:`ClaimLink.person` (sent by the person's side).
CLAIMED = "claimed"
#: :attr:`ClaimLink.op`, to the device's side: an erasure removed the id
#: :attr:`ClaimLink.device`.
ERASED = "erased"
#: :attr:`ClaimLink.op`, to the person's side: take :attr:`ClaimLink.device` out of the entry
#: of :attr:`ClaimLink.person`.
UNCLAIM = "unclaim"
#: :attr:`ClaimLink.op`, to the person's side: the device's side keeps the claim (after an
#: ``unclaim`` it sent for an older one, the device is in the entry again).
CONFIRMED = "confirmed"
_OPS = (CLAIMED, ERASED, UNCLAIM, CONFIRMED)
_TO_PERSON = (UNCLAIM, CONFIRMED)
_LINK_TAG = b"rtp-claim-link-v1\x1f"


@dataclass(frozen=True, slots=True)
class ClaimLink:
    """One record of the profile side's internal claim-link topic.

    >>> ClaimLink(UNCLAIM, "v1", "u.1", 5).home, ClaimLink(CLAIMED, "v1", "u.1", 5).home
    ('u.1', 'v1')
    """

    op: str
    #: The device (for ``erased``: any erased id, a visitor id or a user pseudonym).
    device: str
    #: The claimed user id's pseudonym (None for ``erased``).
    person: str | None
    #: ``claimed``: when the collector took the claim (the claim update's event time);
    #: ``erased``: when the erasure was applied; the others: the time of what caused them.
    at: int

    @property
    def home(self) -> str:
        """The id whose partition the record goes to (and whose entry it changes)."""
        if self.op in _TO_PERSON and self.person is not None:
            return self.person
        return self.device


def link_keys(link: ClaimLink, pseudonyms: Pseudonyms) -> tuple[bytes, ...]:
    """The record's Kafka keys, one per pseudonym key (newest first, the one it is sent
    under): a keyed hash of what it is about, never an id (a tombstone keeps its key for a
    while). The same link has the same keys whatever its time.

    >>> names = Pseudonyms(("claim-link-doctest-key-0",))
    >>> key, = link_keys(ClaimLink(CLAIMED, "v1", "u.1", 5), names)
    >>> key[:2], len(key), key == link_keys(ClaimLink(CLAIMED, "v1", "u.1", 9), names)[0]
    (b'l.', 34, True)
    """
    what = f"{link.op}\x1f{link.device}\x1f{link.person or ''}".encode("utf-8", "surrogatepass")
    return tuple(("l." + hmac.new(key.encode(), _LINK_TAG + what, hashlib.sha256)
                  .hexdigest()[:32]).encode() for key in pseudonyms.keys)


def encode_link(link: ClaimLink) -> bytes:
    """Compact JSON for the internal topic.

    >>> encode_link(ClaimLink(ERASED, "v1", None, 5))
    b'{"op":"erased","device":"v1","person":null,"at":5}'
    """
    return json.dumps({"op": link.op, "device": link.device, "person": link.person,
                       "at": link.at}, separators=(",", ":")).encode()


def decode_link(data: bytes) -> ClaimLink:
    """Read :func:`encode_link`'s output; a clear error for anything else.

    >>> decode_link(encode_link(ClaimLink(UNCLAIM, "v1", "u.1", 5)))
    ClaimLink(op='unclaim', device='v1', person='u.1', at=5)
    >>> decode_link(b'{"op":"claimed","device":"v1","person":null,"at":5}')
    Traceback (most recent call last):
    ...
    pipeline.profiles.errors.ProfileError: not a claim link: claimed without a person
    """
    try:
        raw = json.loads(data)
        op, device, person, at = raw["op"], raw["device"], raw["person"], raw["at"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProfileError(f"not a claim link: {exc!r}") from None
    if op not in _OPS or not isinstance(device, str) or not device \
            or not isinstance(at, int) or isinstance(at, bool) \
            or not (person is None or (isinstance(person, str) and person)):
        raise ProfileError("not a claim link: bad op, device, person or time")
    if op != ERASED and person is None:
        raise ProfileError(f"not a claim link: {op} without a person")
    return ClaimLink(op, device, person, at)


@dataclass(frozen=True, slots=True)
class DeviceStep:
    """What a ``claimed`` or ``erased`` link means on the device's side.

    Attributes
    ----------
    entry
        The device's reverse entry after the step (the JSON list of the pseudonyms it
        claimed; None: no entry).
    erased_at
        When the device was last erased (None: never, as far as the index knows).
    sends
        ``unclaim`` and ``confirmed`` links for the persons' side (each on its pseudonym's
        partition), in this order.
    done
        Links whose records on the internal topic may go (tombstoned).
    indexed
        False when a claim could not be kept in a full reverse entry.
    """

    entry: bytes | None
    erased_at: int | None
    sends: tuple[ClaimLink, ...] = ()
    done: tuple[ClaimLink, ...] = ()
    indexed: bool = True


def device_step(entry: bytes | None, erased_at: int | None, link: ClaimLink,
                limit: int = MAX_CLAIMING_DEVICES) -> DeviceStep:
    """The device's side of the claim index (on the device's partition, in its order).

    ``erased``: the entry goes, every pseudonym in it is unclaimed, the time is kept (the
    latest of the erasures). ``claimed``, for a pseudonym not in the entry: when the claim is
    no later than the device's erasure (in flight while it was erased, or indexed again on a
    replay) it is unclaimed at once; else it is added and confirmed (an ``unclaim`` this side
    sent before may still be on its way). For a pseudonym in the entry nothing changes (a
    newer claim put it there, or it is there already).

    >>> late = device_step(None, 9, ClaimLink(CLAIMED, "v1", "u.1", 7))  # claimed at 7
    >>> late.entry, [(u.op, u.device, u.person) for u in late.sends], late.done[0].op
    (None, [('unclaim', 'v1', 'u.1')], 'claimed')
    >>> new = device_step(None, 9, ClaimLink(CLAIMED, "v1", "u.1", 10))  # after it
    >>> new.entry, [u.op for u in new.sends]
    (b'["u.1"]', ['confirmed'])
    >>> device_step(b'["u.1"]', None, ClaimLink(UNCLAIM, "v1", "u.1", 10))
    Traceback (most recent call last):
    ...
    ValueError: device_step takes claimed or erased links, not unclaim
    """
    if link.op == CLAIMED and link.person is not None:
        if link.person in claimed_devices(entry):
            return DeviceStep(entry, erased_at)
        if erased_at is not None and link.at <= erased_at:
            return DeviceStep(entry, erased_at, (ClaimLink(UNCLAIM, link.device, link.person,
                                                           link.at),), (link,))
        added = add_claim(entry, link.person, limit)
        if added is None:  # full
            return DeviceStep(entry, erased_at, indexed=False)
        return DeviceStep(added, erased_at,
                          (ClaimLink(CONFIRMED, link.device, link.person, link.at),))
    if link.op == ERASED:
        people = claimed_devices(entry)
        return DeviceStep(
            None, link.at if erased_at is None else max(erased_at, link.at),
            tuple(ClaimLink(UNCLAIM, link.device, person, link.at) for person in people),
            (link, *(ClaimLink(CLAIMED, link.device, person, link.at) for person in people)))
    raise ValueError(f"device_step takes claimed or erased links, not {link.op}")


def person_step(entry: bytes | None, link: ClaimLink,
                limit: int = MAX_CLAIMING_DEVICES) -> tuple[bool, bytes | None]:
    """The person's side of an ``unclaim`` or ``confirmed`` link: whether the entry of
    :attr:`ClaimLink.person` changes, and the entry after (None: it goes).

    >>> person_step(b'["v1","v2"]', ClaimLink(UNCLAIM, "v1", "u.1", 5))
    (True, b'["v2"]')
    >>> person_step(b'["v1"]', ClaimLink(UNCLAIM, "v1", "u.1", 5))  # empty: it goes
    (True, None)
    >>> person_step(None, ClaimLink(UNCLAIM, "v1", "u.1", 5))  # nothing to do, twice too
    (False, None)
    >>> person_step(b'["v2"]', ClaimLink(CONFIRMED, "v1", "u.1", 5))
    (True, b'["v2","v1"]')
    """
    if link.op == UNCLAIM:
        remaining = remove_claim(entry, link.device)
        return (False, entry) if remaining is None else (True, encode_entry(remaining))
    if link.op == CONFIRMED:
        added = add_claim(entry, link.device, limit)
        return (False, entry) if added is None else (True, added)
    raise ValueError(f"person_step takes unclaim or confirmed links, not {link.op}")


def encode_erased_at(at: int) -> bytes:
    """The stored value of a device's erasure time (kept under its erasure mark).

    >>> encode_erased_at(9)
    b'9'
    """
    return str(at).encode()


def erased_at_of(values: Iterable[bytes | None]) -> int | None:
    """The latest erasure time among stored values (under each key's mark); None if none.

    >>> erased_at_of([None, b"9", b"7", b"garbage"]), erased_at_of([None])
    (9, None)
    """
    times = [int(v) for v in values if v is not None and v.isdigit()]
    return max(times) if times else None
