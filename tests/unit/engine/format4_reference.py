"""Format 4 as its first code wrote it (commit 9a99159), kept to prove that the faster
encoders write the same bytes: the visitor state (pipeline/engine/state_codec.py), its
session (SessionState.to_bytes) and its pending rows (pipeline/feedback/rows.py), with no
kept bytes and no shortcuts. Never edit: it is the format."""

from __future__ import annotations

import math
import struct
from typing import Any

import orjson

from pipeline.decide import DecisionHistory
from pipeline.engine.state_codec import LABEL_CATEGORICAL_1, LABEL_NUMERIC_1, VERSION
from pipeline.engine.visitor import VisitorState
from pipeline.feedback.rows import FORMAT, KIND_BITS, MAGIC, PendingDecision
from pipeline.serde import compact_json
from pipeline.serde.varint import varint
from pipeline.sessions import SessionState
from pipeline.signals import STRUGGLE_RULES, SignalState

__all__ = ["encode", "encode_rows", "session_bytes", "signals_obj"]

_EMPTY_HISTORY = DecisionHistory()
_F64 = struct.Struct("<d")
_FIXED = struct.Struct("<qd")


def _rel(value: int | None, base: int) -> int | None:
    return None if value is None else value - base


def session_bytes(self: SessionState) -> bytes:
    """SessionState.to_bytes as it was."""
    base = self.first_event_ms
    obj: list[Any] = [
        self.version, self.visitor_id, self.first_event_ms,
        [self.started_ms - base, self.last_ms - base, _rel(self.day_start_ms, base),
         _rel(self.day_end_ms, base), _rel(self.previous_end_ms, base)],
        self.user_id, self.timezone, self.sessions_before,
        [self.events, self.page_views, self.product_views, self.clicks, self.searches,
         self.cart_adds, self.form_errors, self.calculator_changes],
        self.cart_value, self.max_scroll_pct, self.dwell_ms, self.category_hashes,
        [v for k, n in self.product_counts.items() for v in (k, n)],
        self.max_views_same_product,
        [self.page_type, self.category, self.product_id],
        [self.sector, self.traffic_source, self.device, self.country,
         self.landing_page_type],
        self.stated_industry, int(self.converted), self.conversion_value,
        self.conversion_kind, int(self.profile_returning),
        [self.loyalty_tier, self.preferred_category, self.industry, self.plan],
        self.past_purchases, self.recent_event_ids, signals_obj(self.signals),
    ]
    return compact_json.dumps(obj)


def signals_obj(self: SignalState) -> list[Any]:
    """SignalState.to_obj as it was (every rule's state asked)."""
    base = self.base_ms or 0
    fired = [v for rule in STRUGGLE_RULES if rule in self.fired
             for v in (STRUGGLE_RULES.index(rule), self.fired[rule][0] - base,
                       self.fired[rule][1])]
    return [self.base_ms, fired, self.rage_click.to_obj(base), self.dead_click.to_obj(base),
            self.pogo_sticking.to_obj(base), self.hesitation.to_obj(base),
            self.form_struggle.to_obj(), self.calculator_fiddling.to_obj(),
            self.search_refresh_loop.to_obj(base)]


def _text(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _id_bytes(decision_id: str) -> bytes:
    if (len(decision_id) == 36 and decision_id[8] == "-" and decision_id[13] == "-"
            and decision_id[18] == "-" and decision_id[23] == "-"):
        hex_text = decision_id.replace("-", "")
        try:
            raw = bytes.fromhex(hex_text)
        except ValueError:
            raw = b""
        if len(raw) == 16 and raw.hex() == hex_text:
            return b"\x00" + raw
    text = _text(decision_id)
    return varint(len(text) + 1) + text


def _row(entry: PendingDecision) -> bytes:
    mask = 0
    for kind in entry.kinds:
        mask |= 1 << KIND_BITS.index(kind)
    flags = mask | (0x80 if entry.observed else 0)
    revenue = _F64.pack(entry.revenue)
    if revenue != _F64.pack(0.0):
        flags |= 0x20
    context = entry.context
    stored = [i for i, x in enumerate(context) if x]
    if _F64.pack(-0.0) in struct.pack(f"<{len(context)}d", *context):
        stored = [i for i, x in enumerate(context) if x or math.copysign(1.0, x) < 0.0]
    ones = [i for i in stored if context[i] == 1.0]
    others = [i for i in stored if context[i] != 1.0]
    width = "B" if len(context) <= 256 else "H"
    positions = ones + others
    return b"".join([
        bytes((flags,)), _id_bytes(entry.decision_id),
        _FIXED.pack(entry.decided_at_ms, entry.propensity),
        revenue if flags & 0x20 else b"",
        varint(len(context)), varint(len(ones)), varint(len(others)),
        struct.pack(f"<{len(positions)}{width}", *positions),
        struct.pack(f"<{len(others)}d", *[context[i] for i in others]),
    ])


def encode_rows(entries: list[PendingDecision], closed: list[str]) -> bytes:
    """pipeline.feedback.rows.encode_rows as it was."""
    index: dict[str, int] = {}
    body: list[bytes] = []
    for entry in entries:
        visitor = index.setdefault(entry.visitor_id, len(index))
        action = index.setdefault(entry.action_id, len(index))
        body.append(varint(visitor) + varint(action))
        body.append(_row(entry))
    strings = [_text(s) for s in index]
    return b"".join((
        MAGIC, bytes((FORMAT,)), varint(len(entries)), varint(len(closed)),
        varint(len(strings)), *[varint(len(s)) + s for s in strings],
        *body, *[_id_bytes(c) for c in closed],
    ))


def _label_bytes(session_id: str, numeric: Any, categorical: Any, own: str | None) -> bytes:
    if tuple(numeric) == LABEL_NUMERIC_1 and tuple(categorical) == LABEL_CATEGORICAL_1:
        values = list(numeric.values())
        if not all(map(math.isfinite, values)):
            raise ValueError("a non-finite number cannot be stored as JSON")
        return b"\x01" + orjson.dumps([
            0 if session_id == own else session_id, values,
            [0 if v == "unknown" else v for v in categorical.values()]])
    sid = None if session_id == own else session_id
    return b"\x00" + compact_json.dumps([sid, dict(numeric), dict(categorical)])


def _history_bytes(history: DecisionHistory, own: str | None, pending_ids: list[str]) -> bytes:
    if history == _EMPTY_HISTORY:
        return b""
    strings: dict[str, int] = {}
    ref = {decision_id: i for i, decision_id in enumerate(pending_ids)}

    def counts(shown: Any) -> list[int]:
        return [v for k, n in shown.items() for v in (strings.setdefault(k, len(strings)), n)]

    shown_session, shown_visitor = counts(history.shown_session), counts(history.shown_visitor)
    dismissed = sorted(strings.setdefault(a, len(strings)) for a in history.dismissed_session)
    delivered: list[int | str] = []
    for d in history.delivered:
        delivered += (ref.get(d.decision_id, d.decision_id),
                      strings.setdefault(d.action_id, len(strings)),
                      strings.setdefault(d.slot, len(strings)))
    return compact_json.dumps([
        None if history.session_id == own else history.session_id, list(strings),
        shown_session, shown_visitor, dismissed, history.overlays_session,
        int(history.last_overlay_dismissed), delivered,
    ])


def encode(state: VisitorState) -> bytes:
    """VisitorState.to_bytes (format 4) as it was."""
    session, pending, label = state.session, state.pending, state.label
    if state.source_offset < -1:
        raise ValueError(f"source offset {state.source_offset} is below -1")
    own = session.session_id if session is not None else None
    session_part = session_bytes(session) if session is not None else b""
    pending_ids = pending.decision_ids() if pending else []
    pending_part = (encode_rows([e for d in pending.decision_ids()
                                 if (e := pending.get(d)) is not None], list(pending.closed_ids()))
                    if pending is not None and (pending or pending.closed_ids()) else b"")
    history_part = _history_bytes(state.history, own, pending_ids)
    label_part = (_label_bytes(label.session_id, label.numeric, label.categorical, own)
                  if label is not None else b"")
    return b"".join((
        bytes((VERSION,)), varint(state.source_offset + 1), varint(len(session_part)),
        varint(len(history_part)), varint(len(pending_part)), varint(len(label_part)),
        session_part, history_part, pending_part, label_part, state.intent_class.encode(),
    ))
