"""Turn a detection into a StruggleSignal record (a dict shaped like the Avro schema).

>>> d = Detection("rage_click", "e3", 1_700_000_000_000, strength=1.0, page_url="/p")
>>> rec = struggle_signal(d, session_id="v1:1", visitor_id="v1")
>>> rec["signal_id"] == signal_id("e3", "rage_click"), rec["rule"], rec["details"]
(True, 'rage_click', {})
"""

from __future__ import annotations

import hashlib
from typing import Any

from pipeline.signals.detection import Detection

__all__ = ["signal_id", "struggle_signal"]


def signal_id(trigger_event_id: str, rule: str) -> str:
    """Deterministic signal id: 24 hex digits of BLAKE2b over rule and trigger event id.

    Replays and redeliveries of the same trigger produce the same id, so
    consumers can drop duplicates.

    >>> signal_id("e1", "dead_click") == signal_id("e1", "dead_click")
    True
    >>> len(signal_id("e1", "dead_click")), signal_id("e1", "dead_click") != signal_id(
    ...     "e1", "rage_click")
    (24, True)
    """
    digest = hashlib.blake2b(f"{rule}\x1f{trigger_event_id}".encode(), digest_size=12)
    return digest.hexdigest()


def struggle_signal(detection: Detection, *, session_id: str, visitor_id: str) -> dict[str, Any]:
    """The StruggleSignal dict for ``detection`` (valid against StruggleSignal.avsc).

    >>> struggle_signal(Detection("hesitation", "p1", 5, strength=1.5),
    ...                 session_id="s", visitor_id="v")["strength"]
    1.5
    """
    return {
        "signal_id": signal_id(detection.trigger_event_id, detection.rule),
        "visitor_id": visitor_id,
        "session_id": session_id,
        "rule": detection.rule,
        "event_time": int(detection.event_time),
        "strength": max(1.0, float(detection.strength)),
        "page_url": detection.page_url,
        "trigger_event_id": detection.trigger_event_id,
        "details": {str(k): str(v) for k, v in detection.details.items()},
    }
