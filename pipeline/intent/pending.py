"""Delayed labels: remember what the model saw at prediction time until the session ends.

Whether a session converts is known only when it ends, so the features of each prediction
are kept per session and released, labelled, when the session closes. Learning from the
features *as they were when predicting* (not the final ones) is what makes the model useful
early in a session.

>>> pending = PendingLabels()
>>> pending.record("s1", {"page_views": 1.0}, {"sector": "travel"})
>>> pending.record("s1", {"page_views": 4.0}, {"sector": "travel"})
>>> [(e.numeric["page_views"], e.converted) for e in pending.release("s1", converted=True)]
[(4.0, True)]
>>> pending.release("s1", converted=True)
[]
"""

from __future__ import annotations

import json
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.intent.errors import PendingLabelsError

__all__ = ["LabeledExample", "PendingLabels", "Snapshot"]


@dataclass(frozen=True)
class Snapshot:
    """Session features as the model saw them.

    >>> Snapshot({"page_views": 1.0}, {}).numeric
    {'page_views': 1.0}
    """

    numeric: dict[str, float]
    categorical: dict[str, str]


@dataclass(frozen=True)
class LabeledExample:
    """A snapshot with its label, ready for :meth:`IntentModel.learn`.

    >>> LabeledExample({}, {}, converted=False).converted
    False
    """

    numeric: dict[str, float]
    categorical: dict[str, str]
    converted: bool


class PendingLabels:
    """Snapshots per session, bounded in both directions.

    Parameters
    ----------
    max_per_session
        Snapshots kept per session, the most recent ones (1: only the last, so a long
        session does not outweigh a short one).
    max_sessions
        Sessions tracked at once; recording a new one beyond it forgets the least recently
        recorded session (its label can no longer be learned).

    >>> pending = PendingLabels(max_per_session=2, max_sessions=1)
    >>> for views in (1.0, 2.0, 3.0):
    ...     pending.record("a", {"page_views": views}, {})
    >>> pending.record("b", {"page_views": 1.0}, {})
    >>> "a" in pending, len(pending)
    (False, 1)
    """

    def __init__(self, max_per_session: int = 1, max_sessions: int = 10_000) -> None:
        if max_per_session < 1 or max_sessions < 1:
            raise PendingLabelsError("max_per_session and max_sessions must be >= 1")
        self.max_per_session = max_per_session
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, deque[Snapshot]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def record(
        self, session_id: str, numeric: Mapping[str, float], categorical: Mapping[str, str]
    ) -> None:
        """Remember the features of a prediction made in ``session_id``.

        >>> pending = PendingLabels()
        >>> pending.record("s", {"clicks": 2.0}, {"device": "mobile"})
        >>> len(pending)
        1
        """
        snapshots = self._sessions.get(session_id)
        if snapshots is None:
            snapshots = deque(maxlen=self.max_per_session)
            self._sessions[session_id] = snapshots
        else:
            self._sessions.move_to_end(session_id)
        snapshots.append(
            Snapshot(
                {k: float(v) for k, v in numeric.items()},
                {k: str(v) for k, v in categorical.items()},
            )
        )
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)

    def release(self, session_id: str, converted: bool) -> list[LabeledExample]:
        """The session ended (or converted): its snapshots, labelled, and forget them.

        >>> pending = PendingLabels()
        >>> pending.record("s", {"clicks": 1.0}, {})
        >>> pending.release("s", converted=False)[0].converted
        False
        >>> pending.release("unknown", converted=True)
        []
        """
        snapshots = self._sessions.pop(session_id, None)
        if not snapshots:
            return []
        return [LabeledExample(s.numeric, s.categorical, bool(converted)) for s in snapshots]

    def discard(self, session_id: str) -> bool:
        """Forget a session without learning from it (opt-out, erasure); True if it was known.

        >>> pending = PendingLabels()
        >>> pending.record("s", {}, {})
        >>> pending.discard("s"), pending.discard("s")
        (True, False)
        """
        return self._sessions.pop(session_id, None) is not None

    def to_bytes(self) -> bytes:
        """Compact JSON, oldest session first.

        >>> pending = PendingLabels(max_per_session=2)
        >>> pending.record("s", {"clicks": 1.0}, {"device": "tablet"})
        >>> restored = PendingLabels.from_bytes(pending.to_bytes())
        >>> restored.max_per_session, restored.release("s", True)[0].categorical
        (2, {'device': 'tablet'})
        """
        body = {
            "v": 1,
            "max_per_session": self.max_per_session,
            "max_sessions": self.max_sessions,
            "sessions": [
                [sid, [[s.numeric, s.categorical] for s in snapshots]]
                for sid, snapshots in self._sessions.items()
            ],
        }
        return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> PendingLabels:
        """Inverse of :meth:`to_bytes`; raises :class:`PendingLabelsError` on bad input.

        >>> PendingLabels.from_bytes(b"{}")
        Traceback (most recent call last):
        ...
        pipeline.intent.errors.PendingLabelsError: cannot decode pending labels: 'v'
        """
        try:
            body = json.loads(data)
            if body["v"] != 1:
                raise PendingLabelsError(f"unsupported pending labels version {body['v']!r}")
            pending = cls(int(body["max_per_session"]), int(body["max_sessions"]))
            for session_id, snapshots in body["sessions"]:
                for numeric, categorical in snapshots:
                    pending.record(str(session_id), numeric, categorical)
        except PendingLabelsError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise PendingLabelsError(f"cannot decode pending labels: {error}") from error
        return pending
