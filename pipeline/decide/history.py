"""What a visitor has been shown: the memory behind frequency caps and dismissal rules.

Kept per visitor (one table value), compact and immutable: every change returns a new
history. Session-scoped counts reset when the session id changes. Counts are taken at
*delivery* (a decision sent to the page), which is conservative for caps: a delivered
action that never rendered still counts.

>>> history = DecisionHistory().with_delivered("s1", "d1", "free_express_shipping", "hero")
>>> history = history.with_outcome("d1", "dismissed")
>>> history.shown_in_session("free_express_shipping"), sorted(history.dismissed_session)
(1, ['free_express_shipping'])
>>> history.for_session("s2").dismissed_session
frozenset()
>>> DecisionHistory.from_bytes(history.to_bytes()) == history
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from pipeline.decide.errors import HistoryDecodeError
from pipeline.frozen import maker
from pipeline.serde import compact_json

__all__ = ["DecisionHistory", "DeliveredAction", "empty_history"]

_MAX_DELIVERED = 32


@dataclass(frozen=True)
class DeliveredAction:
    """One delivered decision of the current session (to resolve outcomes to actions).

    >>> DeliveredAction("d1", "cta_change", "cta").slot
    'cta'
    """

    decision_id: str
    action_id: str
    slot: str


@dataclass(frozen=True)
class DecisionHistory:
    """Shown counts per action per session and per visitor, dismissals, overlays.

    Fields
    ------
    session_id
        The session the session-scoped fields describe.
    shown_session / shown_visitor
        Deliveries per action id this session / ever (bounded by the catalog size).
    dismissed_session
        Action ids the visitor dismissed this session (never re-shown this session).
    overlays_session
        Overlays delivered this session.
    last_overlay_dismissed
        Whether the most recent overlay of this session was dismissed.
    delivered
        The last 32 deliveries of this session, to map an outcome's decision id to its action.

    >>> DecisionHistory().total_session, DecisionHistory().total_visitor
    (0, 0)
    """

    session_id: str = ""
    shown_session: Mapping[str, int] = field(default_factory=dict)
    shown_visitor: Mapping[str, int] = field(default_factory=dict)
    dismissed_session: frozenset[str] = frozenset()
    overlays_session: int = 0
    last_overlay_dismissed: bool = False
    delivered: tuple[DeliveredAction, ...] = ()
    #: Its bytes as the visitor state's codec last wrote them (pipeline.engine.state_codec).
    codec_memo: tuple[object, bytes] | None = field(default=None, init=False, repr=False,
                                                    compare=False)

    @property
    def total_session(self) -> int:
        """Actions delivered this session.

        >>> DecisionHistory(shown_session={"a": 2, "b": 1}).total_session
        3
        """
        return sum(self.shown_session.values())

    @property
    def total_visitor(self) -> int:
        """Actions delivered to this visitor ever.

        >>> DecisionHistory(shown_visitor={"a": 4}).total_visitor
        4
        """
        return sum(self.shown_visitor.values())

    def shown_in_session(self, action_id: str) -> int:
        """Deliveries of ``action_id`` this session.

        >>> DecisionHistory(shown_session={"a": 2}).shown_in_session("a")
        2
        """
        return self.shown_session.get(action_id, 0)

    def shown_to_visitor(self, action_id: str) -> int:
        """Deliveries of ``action_id`` to this visitor ever.

        >>> DecisionHistory().shown_to_visitor("a")
        0
        """
        return self.shown_visitor.get(action_id, 0)

    def for_session(self, session_id: str) -> DecisionHistory:
        """This history seen from ``session_id``: session fields reset if it is a new session.

        >>> h = DecisionHistory(session_id="s1", shown_session={"a": 1}, shown_visitor={"a": 1})
        >>> h.for_session("s1") is h, h.for_session("s2").shown_session
        (True, {})
        """
        if session_id == self.session_id:
            return self
        # DecisionHistory(session_id=session_id, shown_visitor=dict(self.shown_visitor)),
        # every field given (:mod:`pipeline.frozen`: once per decision of a new session).
        return _new_history(session_id, {}, dict(self.shown_visitor), _NO_IDS, 0, False, ())

    def with_delivered(
        self, session_id: str, decision_id: str, action_id: str, slot: str
    ) -> DecisionHistory:
        """Record a delivery.

        >>> h = DecisionHistory().with_delivered("s", "d1", "video_nudge", "overlay")
        >>> h.overlays_session, h.last_overlay_dismissed, h.shown_to_visitor("video_nudge")
        (1, False, 1)
        """
        base = self.for_session(session_id)
        shown_session = dict(base.shown_session)
        shown_session[action_id] = shown_session.get(action_id, 0) + 1
        shown_visitor = dict(base.shown_visitor)
        shown_visitor[action_id] = shown_visitor.get(action_id, 0) + 1
        is_overlay = slot == "overlay"
        # Built directly, not with dataclasses.replace (its per-call walk of the fields) nor
        # the frozen __init__ (:mod:`pipeline.frozen`): one history per delivered decision.
        return _new_history(
            base.session_id,
            shown_session,
            shown_visitor,
            base.dismissed_session,
            base.overlays_session + int(is_overlay),
            False if is_overlay else base.last_overlay_dismissed,
            (*base.delivered, _new_delivered(decision_id, action_id, slot))[-_MAX_DELIVERED:],
        )

    def with_outcome(self, decision_id: str, kind: str) -> DecisionHistory:
        """Apply an Outcome (``kind`` from Outcome.kind); only ``dismissed`` changes anything.

        Outcomes of decisions not delivered in this session are ignored.

        >>> h = DecisionHistory().with_delivered("s", "d1", "first_time_buyer_discount", "overlay")
        >>> h.with_outcome("d1", "dismissed").last_overlay_dismissed
        True
        >>> h.with_outcome("other", "dismissed") == h
        True
        """
        if kind != "dismissed":
            return self
        for index, delivered in enumerate(self.delivered):
            if delivered.decision_id != decision_id:
                continue
            later_overlays = any(d.slot == "overlay" for d in self.delivered[index + 1 :])
            is_last_overlay = delivered.slot == "overlay" and not later_overlays
            return replace(
                self,
                dismissed_session=self.dismissed_session | {delivered.action_id},
                last_overlay_dismissed=self.last_overlay_dismissed or is_last_overlay,
            )
        return self

    def to_bytes(self) -> bytes:
        """Compact JSON.

        >>> DecisionHistory(session_id="s").to_bytes()[:20]
        b'{"v":1,"session":"s"'
        """
        body = {
            "v": 1,
            "session": self.session_id,
            "ss": dict(self.shown_session),
            "sv": dict(self.shown_visitor),
            "dis": sorted(self.dismissed_session),
            "ov": self.overlays_session,
            "ovd": self.last_overlay_dismissed,
            "del": [[d.decision_id, d.action_id, d.slot] for d in self.delivered],
        }
        return compact_json.dumps(body)

    @classmethod
    def from_bytes(cls, data: bytes) -> DecisionHistory:
        """Inverse of :meth:`to_bytes`; raises :class:`HistoryDecodeError` on bad input.

        >>> DecisionHistory.from_bytes(b"[]")
        Traceback (most recent call last):
        ...
        pipeline.decide.errors.HistoryDecodeError: cannot decode decision history: not an object
        """
        try:
            body = compact_json.loads(data)
            if not isinstance(body, dict):
                raise TypeError("not an object")
            if body.get("v") != 1:
                raise HistoryDecodeError(f"unsupported decision history version {body.get('v')!r}")
            history = cls(
                session_id=str(body["session"]),
                shown_session=_counts(body["ss"]),
                shown_visitor=_counts(body["sv"]),
                dismissed_session=frozenset(str(a) for a in body["dis"]),
                overlays_session=int(body["ov"]),
                last_overlay_dismissed=bool(body["ovd"]),
                delivered=tuple(DeliveredAction(str(d), str(a), str(s)) for d, a, s in body["del"]),
            )
        except HistoryDecodeError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise HistoryDecodeError(f"cannot decode decision history: {error}") from error
        return history


def _counts(raw: object) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise TypeError("counts must be an object")
    return {str(key): int(value) for key, value in raw.items()}


#: Positional constructors (every field, in order: :mod:`pipeline.frozen`), for the hot path.
_new_history = maker(DecisionHistory)
_new_delivered = maker(DeliveredAction)
#: The default of ``dismissed_session``.
_NO_IDS: frozenset[str] = frozenset()


def empty_history() -> DecisionHistory:
    """``DecisionHistory()``, built without the frozen ``__init__`` (:mod:`pipeline.frozen`):
    every new visitor's state starts with one.

    >>> empty_history() == DecisionHistory(), empty_history().shown_visitor is not None
    (True, True)
    """
    return _new_history("", {}, {}, _NO_IDS, 0, False, ())
