"""Right of access: what rtp holds about one visitor, as ``GET /v1/privacy/export`` answers it.

The records are found by :mod:`pipeline.delivery.person` (a Kafka adapter); this module only
shapes them. The document has four parts:

``profile``
    The visitor's profile view as the workers use it (traits, consent state, experiment
    unit), the latest on ``rtp.internal.visitor-profiles``; ``null`` when none is held, and
    ``erased: true`` when the latest message there erased it.
``consent``
    The visitor's latest consent answer on ``profiles.updates`` (``null``: none recorded
    there), and ``consent_history``: every consent answer still on that compacted topic.
``profile_updates``
    Identify and trait updates naming the visitor (kind, time, traits, user id as stored).
``decisions``
    Every decision for the visitor on ``personalization.actions`` within the export window,
    oldest first, with its reason; ``held_by_delivery`` marks those delivery serves now.
``decision_log``
    Every decision about the visitor on ``personalization.decisions.log`` within the history
    window (control group and "no action" included): what was decided, why, the intent
    estimated, the features the decision used, whether it was served.
``outcomes``, ``events``, ``signals``
    The visitor's outcomes (shown, clicked, converted...), the events rtp received from
    their browser (as stored, i.e. minimised) and the struggle signals detected, within the
    history window, oldest first.
``person``, ``other_devices``
    What the profile side keeps about the *person* the visitor belongs to (version 3): each
    profile in its table that lists the visitor among its devices, whatever its key (the
    user pseudonym after identify, a visitor id before), with every field as kept (user
    pseudonym, devices, traits, consent, purchases, recent order ids, sessions); and the
    person's other device ids those profiles list (their records are exported by asking
    for those visitors: only the admin key can). **Admin exports only** (``null`` in a
    visitor token's export): a device joins a person through an identify call, which any
    browser can send with any user id (the write key is public), so a visitor token proves
    the device, not the person; the operator checks who asks before an admin export.
``history_window_ms``, ``truncated``
    How far back those four parts were read, and which of them hit the per-partition
    record bound (their oldest records are then missing; :mod:`pipeline.delivery.person`).

>>> doc = export_document("v1", PersonRecords(
...     view={"loyalty_tier": "gold", "personalization_allowed": True},
...     consent=({"update_id": "c1", "kind": "consent", "visitor_id": "v1", "user_id": None,
...               "event_time": 5, "traits": {},
...               "consent": {"personalization": False, "analytics": True}},),
...     decisions=({"decision_id": "d1", "visitor_id": "v1", "action_id": "a", "slot": "hero",
...                 "payload": {}, "created_at": 10, "ttl_ms": 5, "reason": "Personalized",
...                 "experiment_arm": "personalized", "channel": "web"},)),
...     now_ms=20, held=frozenset({"d1"}))
>>> doc["profile"]["loyalty_tier"], doc["consent"]["personalization"]
('gold', False)
>>> doc["decisions"][0]["reason"], doc["decisions"][0]["held_by_delivery"]
('Personalized', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["EXPORT_VERSION", "PersonRecords", "export_document"]

#: Format version of the export document.
EXPORT_VERSION = 3

#: Decision fields a person gets back (model internals such as propensities are not about
#: the person; the decision itself is).
_DECISION_FIELDS = ("decision_id", "session_id", "action_id", "slot", "payload", "reason",
                    "experiment_arm", "channel", "created_at", "trigger_event_id", "policy")
#: What a decision-log entry adds about the person (eligible actions, propensities and
#: versions are the model's, not the person's).
_LOGGED_FIELDS = ("numeric_features", "categorical_features", "guardrails_fired",
                  "intent_class", "intent_probability", "served", "experiment_unit")


def _logged(record: Mapping[str, Any]) -> dict[str, Any]:
    inner = record.get("decision") or {}
    return {**{k: inner.get(k) for k in _DECISION_FIELDS},
            **{k: record.get(k) for k in _LOGGED_FIELDS}}


def _by(field: str) -> Any:
    return lambda r: int(r.get(field) or 0)


@dataclass(frozen=True)
class PersonRecords:
    """The records found about one visitor (see the module docstring).

    >>> PersonRecords().decisions, PersonRecords().erased
    ((), False)
    """

    #: The latest profile view (decoded ``ProfileView`` fields); None: none held.
    view: Mapping[str, Any] | None = None
    #: The latest message about the visitor on the views topic erased it.
    erased: bool = False
    #: Consent ``ProfileUpdate`` records naming the visitor, in topic order.
    consent: tuple[Mapping[str, Any], ...] = ()
    #: Identify and trait ``ProfileUpdate`` records naming the visitor, in topic order.
    updates: tuple[Mapping[str, Any], ...] = ()
    #: ``Decision`` records for the visitor, in topic order.
    decisions: tuple[Mapping[str, Any], ...] = ()
    #: How far back decisions were read (ms).
    window_ms: int = 0
    #: ``ClickEvent`` records of the visitor, in topic order.
    events: tuple[Mapping[str, Any], ...] = ()
    #: ``Outcome`` records of the visitor, in topic order.
    outcomes: tuple[Mapping[str, Any], ...] = ()
    #: ``StruggleSignal`` records of the visitor, in topic order.
    signals: tuple[Mapping[str, Any], ...] = ()
    #: ``DecisionLog`` records whose decision names the visitor.
    logged: tuple[Mapping[str, Any], ...] = ()
    #: How far back events, outcomes, signals and the decision log were read (ms).
    history_ms: int = 0
    #: The parts (``events``, ``outcomes``, ``signals``, ``decision_log``, ``person``) cut by
    #: the bound.
    truncated: tuple[str, ...] = ()
    #: The profile side's profiles (``ProfileState`` fields) that list the visitor.
    people: tuple[Mapping[str, Any], ...] = ()


def _consent(record: Mapping[str, Any]) -> dict[str, Any]:
    answer = record.get("consent") or {}
    return {"personalization": answer.get("personalization"),
            "analytics": answer.get("analytics"), "event_time": record.get("event_time"),
            "update_id": record.get("update_id")}


def export_document(visitor_id: str, records: PersonRecords, now_ms: int,
                    held: frozenset[str] = frozenset(), *, person: bool = True
                    ) -> dict[str, Any]:
    """The export of ``visitor_id`` (``held``: ids of the decisions delivery serves now;
    ``person``: include what is kept about the person, else ``person`` and
    ``other_devices`` are ``None``: a visitor token's export, see below).

    >>> export_document("v9", PersonRecords(), now_ms=1)["profile"] is None
    True
    >>> sorted(export_document("v9", PersonRecords(), now_ms=1))  # doctest: +NORMALIZE_WHITESPACE
    ['consent', 'consent_history', 'decision_log', 'decisions', 'decisions_window_ms',
     'erased', 'events', 'exported_at', 'history_window_ms', 'other_devices', 'outcomes',
     'person', 'profile', 'profile_updates', 'signals', 'truncated', 'version', 'visitor_id']
    >>> doc = export_document("v1", PersonRecords(people=({"key": "u.1", "user_id": "u.1",
    ...                                                     "visitor_ids": ["v1", "v2"]},)), 1)
    >>> doc["person"][0]["user_id"], doc["other_devices"]
    ('u.1', ['v2'])
    """
    consents = sorted(records.consent, key=lambda r: int(r.get("event_time") or 0))
    decisions = sorted(records.decisions, key=lambda r: int(r.get("created_at") or 0))
    return {
        "version": EXPORT_VERSION,
        "visitor_id": visitor_id,
        "exported_at": now_ms,
        "profile": dict(records.view) if records.view is not None else None,
        "erased": records.erased,
        "consent": _consent(consents[-1]) if consents else None,
        "consent_history": [_consent(r) for r in consents],
        "profile_updates": [
            {"kind": r.get("kind"), "event_time": r.get("event_time"),
             "user_id": r.get("user_id"), "traits": dict(r.get("traits") or {}),
             "update_id": r.get("update_id")}
            for r in sorted(records.updates, key=lambda r: int(r.get("event_time") or 0))],
        "decisions": [
            {**{k: r.get(k) for k in _DECISION_FIELDS},
             "expires_at": int(r.get("created_at") or 0) + int(r.get("ttl_ms") or 0),
             "held_by_delivery": r.get("decision_id") in held}
            for r in decisions],
        "decisions_window_ms": records.window_ms,
        "decision_log": [_logged(r) for r in sorted(
            records.logged, key=lambda r: int((r.get("decision") or {}).get("created_at") or 0))],
        "outcomes": [dict(r) for r in sorted(records.outcomes, key=_by("event_time"))],
        "events": [dict(r) for r in sorted(records.events, key=_by("event_time"))],
        "signals": [dict(r) for r in sorted(records.signals, key=_by("event_time"))],
        "history_window_ms": records.history_ms,
        "truncated": list(records.truncated),
        "person": [dict(p) for p in records.people] if person else None,
        "other_devices": sorted({v for p in records.people for v in p.get("visitor_ids") or ()
                                 if v != visitor_id}) if person else None,
    }
