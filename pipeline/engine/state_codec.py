"""Visitor state format 4: the parts of a :class:`~pipeline.engine.VisitorState` in one
compact value, what repeats between parts written once.

Measured on the simulator's states (bench/state_size.py): format 3 spent 900 B on the
label snapshot (its feature names as JSON keys), ~250 B per pending decision and wrote
the session id three times and each delivered decision id twice. Format 4::

    4 | v source_offset + 1 | v len(session) | v len(history) | v len(pending) | v len(label)
      | session (SessionState.to_bytes) | history | pending (PendingRewards.to_bytes)
      | label | intent class (UTF-8, the rest)

(``v``: unsigned LEB128 varint.) The history and the label are compact JSON lists:

- **history**: ``[session id or null, strings, shown this session, shown ever,
  dismissed, overlays, last overlay dismissed, delivered]``; action ids and slots are
  indexes into ``strings``; counts are flat ``[index, count, ...]`` pairs in their order;
  a delivered decision id that is pending is its index in the pending decisions' order.
  Empty (zero bytes): the empty history.
- **label**: a tag byte, then ``[session id, numeric, categorical]``. Tag 1: the feature
  names are :data:`LABEL_NUMERIC_1` and :data:`LABEL_CATEGORICAL_1` in that order and
  only the values are written, ``"unknown"`` as 0 and the session's own id as 0. Tag 0:
  names and values as objects (any other features), the session's own id as null.

In the history, a null session id means the session's own. Every value comes back exactly
(floats bit for bit); a non-finite label value is refused (ValueError), as format 3 did.

>>> from pipeline.decide import DecisionHistory
>>> data = encode(None, DecisionHistory(), None, None, "browsing", -1)
>>> data
b'\\x04\\x00\\x00\\x00\\x00\\x00browsing'
>>> decode(data, None)[4:]
('browsing', -1)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

import orjson

from pipeline.decide import DecisionHistory
from pipeline.decide.history import DeliveredAction
from pipeline.feedback import PendingRewards, RewardOptions
from pipeline.serde import compact_json
from pipeline.serde.varint import read_varint
from pipeline.sessions import SessionState

__all__ = [
    "LABEL_CATEGORICAL_1",
    "LABEL_NUMERIC_1",
    "VERSION",
    "Label",
    "LabelLike",
    "decode",
    "encode",
    "part_sizes",
]

VERSION = 4

#: The session features' names when format 4 was made (``SessionState.features``): a
#: label with exactly these names, in this order, is written as values only. Never edit:
#: stored labels are read with it. New feature names make a new tag.
LABEL_NUMERIC_1: tuple[str, ...] = (
    "page_views", "product_views", "distinct_categories", "max_views_same_product",
    "dwell_product_s", "dwell_pricing_s", "dwell_shipping_returns_s", "dwell_checkout_s",
    "dwell_eligibility_s", "dwell_feature_s", "dwell_calculator_s", "dwell_other_s",
    "max_scroll_pct", "clicks", "searches", "cart_adds", "cart_value", "form_errors",
    "calculator_changes", "session_age_s", "since_last_event_s", "returning",
    "past_purchases", "converted", "signal_count", "signal_rage_click", "signal_dead_click",
    "signal_pogo_sticking", "signal_hesitation", "signal_form_struggle",
    "signal_calculator_fiddling", "signal_search_refresh_loop",
)
#: See :data:`LABEL_NUMERIC_1`.
LABEL_CATEGORICAL_1: tuple[str, ...] = (
    "sector", "traffic_source", "device", "country", "landing_page_type", "page_type",
    "category", "product_id", "loyalty_tier", "preferred_category", "industry", "plan",
)
_UNKNOWN = "unknown"
_TAG_NAMED = b"\x00"
_TAG_LAYOUT_1 = b"\x01"
_EMPTY_HISTORY = DecisionHistory()

#: A label as its parts: (session id, numeric features, categorical features).
Label = tuple[str, dict[str, float], dict[str, str]]


class LabelLike(Protocol):
    """What :func:`encode` reads of a label snapshot (immutable: its bytes are kept)."""

    @property
    def session_id(self) -> str: ...

    @property
    def numeric(self) -> Mapping[str, float]: ...

    @property
    def categorical(self) -> Mapping[str, str]: ...

    @property
    def codec_memo(self) -> tuple[object, bytes] | None:
        """Where the codec keeps the label's bytes (a field that takes no part in equality)."""


class _Reader:
    """Unsigned LEB128 varints from ``data``, moving ``offset``."""

    def __init__(self, data: bytes, offset: int) -> None:
        self.data, self.offset = data, offset

    def varint(self) -> int:
        value, self.offset = read_varint(self.data, self.offset)
        return value


def _cached(obj: LabelLike | DecisionHistory, key: object) -> bytes | None:
    """Bytes of an immutable part encoded before with the same ``key`` (the parts it refers
    to), or None. Every commit encodes each changed visitor's state again; its history and
    label snapshot (frozen dataclasses) often did not change since the last commit."""
    done = obj.codec_memo
    return done[1] if done is not None and done[0] == key else None


def _keep(obj: LabelLike | DecisionHistory, key: object, data: bytes) -> bytes:
    object.__setattr__(obj, "codec_memo", (key, data))  # a cache: compare=False
    return data


def _encode_label(label: LabelLike, own: str | None) -> bytes:
    done = _cached(label, own)
    return done if done is not None else _keep(label, own, _label_bytes(
        label.session_id, label.numeric, label.categorical, own))


def _label_bytes(session_id: str, numeric: Mapping[str, float],
                 categorical: Mapping[str, str], own: str | None) -> bytes:
    if tuple(numeric) == LABEL_NUMERIC_1 and tuple(categorical) == LABEL_CATEGORICAL_1:
        # The session's own id and "unknown" are written 0. The numbers are the only floats:
        # orjson would write a non-finite one as null, so they are checked themselves (a
        # text value may well contain "null": a plan named so once failed the commit).
        # (A new label at every decision: this runs at every commit.)
        values = list(numeric.values())
        # A sum of finite numbers is finite unless it overflows: then each is checked.
        if not math.isfinite(sum(values)) and not all(map(math.isfinite, values)):
            raise ValueError("a non-finite number cannot be stored as JSON")
        return _TAG_LAYOUT_1 + orjson.dumps([
            0 if session_id == own else session_id, values,
            [0 if v == _UNKNOWN else v for v in categorical.values()]])
    sid = None if session_id == own else session_id
    return _TAG_NAMED + compact_json.dumps([sid, dict(numeric), dict(categorical)])


def _decode_label(data: bytes, own: str | None) -> Label:
    sid, numeric, categorical = compact_json.loads(data[1:])
    if data[:1] == _TAG_LAYOUT_1:
        session_id = own if sid == 0 and type(sid) is int else str(sid)
    elif data[:1] == _TAG_NAMED:
        session_id = own if sid is None else str(sid)
    else:
        raise ValueError(f"unknown label tag {data[:1]!r}")
    if session_id is None:
        raise ValueError("a label refers to the session's id, and there is no session")
    if data[:1] == _TAG_LAYOUT_1:
        if len(numeric) != len(LABEL_NUMERIC_1) or len(categorical) != len(
                LABEL_CATEGORICAL_1):
            raise ValueError("a label has the wrong number of features")
        return (session_id, dict(zip(LABEL_NUMERIC_1, map(float, numeric), strict=True)),
                {k: _UNKNOWN if v == 0 and type(v) is int else str(v)
                 for k, v in zip(LABEL_CATEGORICAL_1, categorical, strict=True)})
    return (session_id, {str(k): float(v) for k, v in numeric.items()},
            {str(k): str(v) for k, v in categorical.items()})


#: The bytes of a history with nothing in it but the session's own id (a new session's).
_OWN_ONLY_HISTORY = b"[null,[],[],[],[],0,0,[]]"


def _encode_history(history: DecisionHistory, own: str | None, pending_ids: list[str]) -> bytes:
    if (history.session_id == own and not history.delivered and not history.shown_session
            and not history.shown_visitor and not history.dismissed_session
            and type(history.overlays_session) is int and history.overlays_session == 0
            and history.last_overlay_dismissed == 0):
        return _OWN_ONLY_HISTORY  # nothing shown yet (a new session's): no work
    key = (own, pending_ids)
    done = _cached(history, key)
    return done if done is not None else _keep(history, key, _history_bytes(
        history, own, pending_ids))


def _history_bytes(history: DecisionHistory, own: str | None, pending_ids: list[str]) -> bytes:
    if not history.session_id and history == _EMPTY_HISTORY:
        return b""
    strings: dict[str, int] = {}
    add = strings.setdefault
    ints = True  # every count an int: no float to check (else compact_json checks them)
    shown: list[list[int]] = [[], []]
    for flat, counts in zip(shown, (history.shown_session, history.shown_visitor), strict=True):
        for action, count in counts.items():
            flat += (add(action, len(strings)), count)
            ints = ints and type(count) is int
    dismissed = sorted([add(a, len(strings)) for a in history.dismissed_session])
    delivered: list[int | str] = []
    if history.delivered:
        ref = {decision_id: i for i, decision_id in enumerate(pending_ids)}
        for d in history.delivered:
            delivered += (ref.get(d.decision_id, d.decision_id), add(d.action_id, len(strings)),
                          add(d.slot, len(strings)))
    obj = [None if history.session_id == own else history.session_id, list(strings),
           shown[0], shown[1], dismissed, history.overlays_session,
           int(history.last_overlay_dismissed), delivered]
    if ints and type(history.overlays_session) is int:
        return orjson.dumps(obj)  # texts and ints only: nothing non-finite to refuse
    return compact_json.dumps(obj)


def _decode_history(data: bytes, own: str | None, pending_ids: list[str]) -> DecisionHistory:
    if not data:
        return DecisionHistory()
    (sid, strings, shown_session, shown_visitor, dismissed, overlays, last_dismissed,
     delivered) = compact_json.loads(data)
    session_id = own if sid is None else str(sid)
    if session_id is None:
        raise ValueError("a history refers to the session's id, and there is no session")
    texts = [str(s) for s in strings]

    def counts(flat: list[int]) -> dict[str, int]:
        if len(flat) % 2:
            raise ValueError("counts are not pairs")
        return {texts[flat[i]]: int(flat[i + 1]) for i in range(0, len(flat), 2)}

    if len(delivered) % 3:
        raise ValueError("delivered decisions are not triples")
    return DecisionHistory(
        session_id=session_id,
        shown_session=counts(shown_session),
        shown_visitor=counts(shown_visitor),
        dismissed_session=frozenset(texts[i] for i in dismissed),
        overlays_session=int(overlays),
        last_overlay_dismissed=bool(last_dismissed),
        delivered=tuple(
            DeliveredAction(pending_ids[d] if isinstance(d, int) else str(d),
                            texts[delivered[i + 1]], texts[delivered[i + 2]])
            for i in range(0, len(delivered), 3) for d in (delivered[i],)
        ),
    )


def encode(session: SessionState | None, history: DecisionHistory,
           pending: PendingRewards | None, label: LabelLike | None, intent_class: str,
           source_offset: int) -> bytes:
    """Format 4 bytes of a visitor state's parts (``pending``: None, or nothing pending and
    no closed id remembered: no pending part).

    >>> from pipeline.engine import LabelSnapshot
    >>> encode(None, DecisionHistory(), None, LabelSnapshot("s", {}, {}), "browsing", 7)[:7]
    b'\\x04\\x08\\x00\\x00\\x00\\x0c\\x00'
    """
    if source_offset < -1:
        raise ValueError(f"source offset {source_offset} is below -1")
    if session is not None:
        own: str | None = session.session_id
        session_bytes = session.to_bytes()
    else:
        own, session_bytes = None, b""
    pending_ids: list[str] = []
    pending_bytes = b""
    if pending is not None:
        if pending:
            if history.delivered:  # the history refers to pending decisions by position
                pending_ids = pending.decision_ids()
            pending_bytes = pending.to_bytes()
        elif pending.closed_ids():
            # An empty PendingRewards is falsy, yet the closed ids it remembers must be kept:
            # a decision replayed after a restart would be awaited (and rewarded) again.
            pending_bytes = pending.to_bytes()
    history_bytes = _encode_history(history, own, pending_ids)
    label_bytes = _encode_label(label, own) if label is not None else b""
    header = bytearray((VERSION,))
    for value in (source_offset + 1, len(session_bytes), len(history_bytes),
                  len(pending_bytes), len(label_bytes)):
        while value >= 0x80:  # varint, inline: five of them per state
            header.append(value & 0x7F | 0x80)
            value >>= 7
        header.append(value)
    return b"".join((header, session_bytes, history_bytes, pending_bytes, label_bytes,
                     intent_class.encode()))


def decode(data: bytes, rewards: RewardOptions | None) -> tuple[
        SessionState | None, DecisionHistory, PendingRewards | None, Label | None, str, int]:
    """Inverse of :func:`encode`: (session, history, pending, label, intent, offset).

    Raises ValueError (or its subclasses: the parts' own errors) on malformed bytes.

    >>> decode(b"\\x04\\x0a\\x00\\x00\\x00\\x00ready", None)
    (None, DecisionHistory(session_id='', shown_session={}, shown_visitor={}, \
dismissed_session=frozenset(), overlays_session=0, last_overlay_dismissed=False, \
delivered=()), None, None, 'ready', 9)
    >>> decode(b"\\x04\\x00\\x05", None)
    Traceback (most recent call last):
    ...
    ValueError: visitor state header is cut short
    """
    if data[:1] != bytes((VERSION,)):
        raise ValueError(f"not visitor state format {VERSION}")
    try:
        reader = _Reader(data, 1)
        source_offset = reader.varint() - 1
        sizes = [reader.varint() for _ in range(4)]
    except IndexError as error:
        raise ValueError("visitor state header is cut short") from error
    start = reader.offset
    parts = []
    for size in sizes:
        parts.append(data[start:start + size])
        start += size
    if start > len(data):
        raise ValueError(f"visitor state of {len(data)} bytes is shorter than its parts")
    session_bytes, history_bytes, pending_bytes, label_bytes = parts
    session = SessionState.from_bytes(session_bytes) if session_bytes else None
    own = session.session_id if session is not None else None
    pending = PendingRewards.from_bytes(pending_bytes, rewards) if pending_bytes else None
    pending_ids = pending.decision_ids() if pending is not None else []
    try:
        history = _decode_history(history_bytes, own, pending_ids)
        label = _decode_label(label_bytes, own) if label_bytes else None
    except (TypeError, KeyError, IndexError, AttributeError) as error:
        raise ValueError(f"visitor state is malformed: {error}") from error
    return session, history, pending, label, data[start:].decode(), source_offset


def part_sizes(data: bytes) -> dict[str, int]:
    """Bytes of each part of format 4 ``data`` (the header: version and lengths).

    >>> part_sizes(encode(None, DecisionHistory(), None, None, "browsing", -1))
    {'header': 6, 'session': 0, 'history': 0, 'pending': 0, 'label': 0, 'intent': 8}
    """
    if data[:1] != bytes((VERSION,)):
        raise ValueError(f"not visitor state format {VERSION}")
    reader = _Reader(data, 1)
    reader.varint()
    sizes = dict(zip(("session", "history", "pending", "label"),
                     [reader.varint() for _ in range(4)], strict=True))
    return {"header": reader.offset, **sizes,
            "intent": len(data) - reader.offset - sum(sizes.values())}
