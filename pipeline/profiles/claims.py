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

>>> entry = add_claim(None, "v-laptop")
>>> entry = add_claim(entry, "v-phone")
>>> claimed_devices(entry), add_claim(entry, "v-phone") is None  # already there: unchanged
(('v-laptop', 'v-phone'), True)
>>> [u["visitor_id"] for u in device_erasures("erase-1", claimed_devices(entry), 5)]
['v-laptop', 'v-phone']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

__all__ = ["MAX_CLAIMING_DEVICES", "add_claim", "claim_update", "claimed_devices",
           "device_erasures"]

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
    return json.dumps([*devices, visitor_id], separators=(",", ":")).encode()


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
