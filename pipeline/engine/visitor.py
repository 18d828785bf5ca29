"""Per-visitor state: the session (with detector state), decision history, last intent
class, the visitor's decisions awaiting their reward and the features of the session's
last prediction awaiting its label.

One compact value per visitor in the worker's ``visitors`` table: rewards and labels are
resolved where the visitor's events and outcomes are (the partition that owns the
visitor), so nothing about them is lost when a worker dies: the table has a changelog.

>>> state = VisitorState()
>>> VisitorState.from_bytes(state.to_bytes()) == state
True
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from pipeline.decide import DecisionHistory
from pipeline.decide.history import empty_history
from pipeline.engine import state_codec
from pipeline.feedback import PendingRewards, RewardOptions
from pipeline.serde import compact_json
from pipeline.sessions import SessionState

__all__ = ["LabelSnapshot", "VisitorState", "VisitorStateError"]

_VERSION = state_codec.VERSION  # written: pipeline/engine/state_codec.py
# Read too: versions 1-3, each part in its own format (length-prefixed, fixed-width).
_HEADER_V1 = struct.Struct("<BII")  # version, len(session), len(history)
_HEADER_V2 = struct.Struct("<BIIq")  # version, len(session), len(history), source offset
# + len(pending rewards), len(label snapshot)
_HEADER_V3 = struct.Struct("<BIIqII")


class VisitorStateError(ValueError):
    """Stored visitor state is not in a format this version reads."""


@dataclass(frozen=True)
class LabelSnapshot:
    """The features the intent model last predicted from in a session (label pending).

    >>> snap = LabelSnapshot("s1", {"page_views": 2.0}, {"sector": "retail"})
    >>> LabelSnapshot.from_bytes(snap.to_bytes()) == snap
    True
    """

    session_id: str
    numeric: dict[str, float]
    categorical: dict[str, str]
    #: Its bytes as the visitor state's codec last wrote them (pipeline.engine.state_codec).
    codec_memo: tuple[object, bytes] | None = field(default=None, init=False, repr=False,
                                                    compare=False)

    def to_bytes(self) -> bytes:
        """Compact JSON with the feature names (the label part of visitor state versions
        2-3; version 4 writes the values only, :mod:`pipeline.engine.state_codec`)."""
        return compact_json.dumps([self.session_id, self.numeric, self.categorical])

    @classmethod
    def from_bytes(cls, data: bytes) -> LabelSnapshot:
        """Read :meth:`to_bytes`."""
        session_id, numeric, categorical = compact_json.loads(data)
        return cls(str(session_id), {str(k): float(v) for k, v in numeric.items()},
                   {str(k): str(v) for k, v in categorical.items()})


@dataclass
class VisitorState:
    """What the engine keeps per visitor between events."""

    session: SessionState | None = None
    history: DecisionHistory = field(default_factory=empty_history)
    intent_class: str = "browsing"
    #: Offset (in the visitor's partition of clickstream.events) of the last event applied;
    #: a redelivered event at or below it is already in this state. -1: none known.
    source_offset: int = -1
    #: The visitor's served decisions awaiting outcomes (None: none).
    pending: PendingRewards | None = None
    #: The session's last prediction features, awaiting the session's label (None: none).
    label: LabelSnapshot | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VisitorState):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    def rewards(self, options: RewardOptions) -> PendingRewards:
        """The pending rewards, created on first use with ``options``.

        >>> VisitorState().rewards(RewardOptions()).options.reward_wait_ms
        600000
        """
        if self.pending is None:
            self.pending = PendingRewards(options)
        return self.pending

    def next_deadline_ms(self) -> int | None:
        """When a pending reward of this visitor is next due (None: none pending).

        >>> VisitorState().next_deadline_ms() is None
        True
        """
        return self.pending.next_deadline_ms() if self.pending is not None else None

    def to_bytes(self) -> bytes:
        """Format 4 (:mod:`pipeline.engine.state_codec`): the parts in one compact value.

        >>> VisitorState(intent_class="ready", source_offset=9).to_bytes()
        b'\\x04\\n\\x00\\x00\\x00\\x00ready'
        """
        return state_codec.encode(self.session, self.history, self.pending, self.label,
                                  self.intent_class, self.source_offset)

    @classmethod
    def from_bytes(cls, data: bytes, rewards: RewardOptions | None = None) -> VisitorState:
        """Read what :meth:`to_bytes` wrote (versions 1, 2 and 3 too); refuses others with a
        clear error. ``rewards`` configures the pending rewards read back.

        >>> VisitorState.from_bytes(b"\\x09" + bytes(24))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pipeline.engine.visitor.VisitorStateError: visitor state version 9 is not one of ...
        """
        if data[:1] == bytes((_VERSION,)):
            try:
                session, history, pending, label, intent, offset = state_codec.decode(
                    data, rewards)
            except VisitorStateError:
                raise
            except ValueError as error:
                raise VisitorStateError(f"visitor state version 4 is malformed: {error}") \
                    from error
            return cls(session=session, history=history, intent_class=intent or "browsing",
                       source_offset=offset, pending=pending,
                       label=None if label is None else LabelSnapshot(*label))
        return cls._from_version_3(data, rewards)

    @classmethod
    def _from_version_3(cls, data: bytes, rewards: RewardOptions | None) -> VisitorState:
        """Versions 1-3: fixed-width lengths, each part in its own format."""
        if len(data) < _HEADER_V1.size:
            raise VisitorStateError(f"visitor state of {len(data)} bytes is too short")
        version = data[0]
        n_pending = n_label = 0
        if version == 1:
            _, n_session, n_history = _HEADER_V1.unpack_from(data)
            source_offset, start = -1, _HEADER_V1.size
        elif version == 2 and len(data) >= _HEADER_V2.size:
            _, n_session, n_history, source_offset = _HEADER_V2.unpack_from(data)
            start = _HEADER_V2.size
        elif version == 3 and len(data) >= _HEADER_V3.size:
            _, n_session, n_history, source_offset, n_pending, n_label = \
                _HEADER_V3.unpack_from(data)
            start = _HEADER_V3.size
        else:
            raise VisitorStateError(
                f"visitor state version {version} is not one of 1-{_VERSION} (or is too short)")
        parts = []
        for size in (n_session, n_history, n_pending, n_label):
            parts.append(data[start:start + size])
            start += size
        session_bytes, history_bytes, pending_bytes, label_bytes = parts
        intent = data[start:].decode()
        return cls(
            session=SessionState.from_bytes(session_bytes) if n_session else None,
            history=DecisionHistory.from_bytes(history_bytes),
            intent_class=intent or "browsing",
            source_offset=source_offset,
            pending=PendingRewards.from_bytes(pending_bytes, rewards) if n_pending else None,
            label=LabelSnapshot.from_bytes(label_bytes) if n_label else None,
        )
