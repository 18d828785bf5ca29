"""The outbox of one channel: which decided messages go out, when, and which never do.

Pure logic, no Kafka: the channel service feeds it Decisions, Outcomes and profile views,
asks it what is due, hands those messages to a sink and tells it what was sent.

Rules, checked when a message falls due (``created_at + delay``), so anything that
arrives before then still counts:

1. expired (``created_at + ttl_ms`` passed) → never sent;
2. the visitor withdrew consent or was erased → never sent;
3. a first-purchase offer (catalog ``first_time_buyer_offer``) to a visitor who purchased,
   on any device (a profile view with ``purchased_ever``, or a server-reported
   ``converted`` outcome) → never sent;
4. the same offer (catalog ``same_offer_as``, else the action id) dismissed by the visitor
   on the web or in the app → never sent;
5. no contact for the visitor on this channel (the resolver says None) → never sent;
6. inside the contact's quiet hours (their time zone, else the configured one) → held until
   the window ends (then checked again: it may have expired meanwhile);
7. over the contact's frequency caps on this channel → never sent (not postponed: a
   backlog of postponed messages would break the cap's intent a day later).

A decision id is sent at most once (first wins), whatever is replayed.

>>> from pipeline.decide.catalog import Action, Catalog
>>> from pipeline.channels.contacts import StaticContactResolver
>>> catalog = Catalog(actions=(Action(id="no_action", slot="none"),
...     Action(id="web_offer", slot="overlay", ttl_seconds=600),
...     Action(id="mail", slot="message", channel="email", ttl_seconds=600,
...            same_offer_as="web_offer")))
>>> box = Outbox(OutboxOptions(channel="email", quiet_hours=QuietHours.parse("off")), catalog)
>>> people = StaticContactResolver({"v": {"email": "ann@example.com"}})
>>> box.on_decision({"decision_id": "w1", "visitor_id": "v", "action_id": "web_offer",
...                  "channel": "web", "experiment_arm": "personalized", "created_at": 0,
...                  "ttl_ms": 600_000, "payload": {}})
'remembered'
>>> box.on_outcome({"decision_id": "w1", "visitor_id": "v", "kind": "dismissed",
...                 "event_time": 1, "reported_by": "browser"})
>>> box.on_decision({"decision_id": "m1", "visitor_id": "v", "action_id": "mail",
...                  "channel": "email", "experiment_arm": "personalized", "created_at": 2,
...                  "ttl_ms": 600_000, "payload": {"subject": "10% off"}})
'queued'
>>> [(s.decision_id, s.reason) for s in box.due(3, people)]
[('m1', 'dismissed')]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.channels.caps import DAY_MS, ContactCaps
from pipeline.channels.contacts import Contact, ContactResolver
from pipeline.channels.message import OutboundMessage, render_message
from pipeline.channels.quiet import QuietHours, zone
from pipeline.decide.catalog import Catalog

__all__ = ["PAGE_CHANNELS", "Outbox", "OutboxOptions", "Step"]

#: Channels served on a page (delivery): their decisions are what a dismissal refers to.
PAGE_CHANNELS = frozenset({"web", "app"})


@dataclass(frozen=True)
class OutboxOptions:
    """How one channel sends.

    Parameters
    ----------
    channel
        email or sms.
    caps
        Per contact on this channel (default 1 a day, 3 a week).
    quiet_hours
        Local window with no sends (default 21:00-08:00).
    time_zone
        Zone of the quiet hours for contacts without one (default UTC).
    delay_ms
        How long after its decision a message falls due (default 0): a dismissal or a
        purchase in that time still stops it.
    retry_ms
        When a message the sink refused is tried again (default 60 s).
    remember_ms
        How long dismissals, purchases and page decisions are remembered (default 30 days).

    >>> OutboxOptions(channel="sms").caps.per_day
    1
    """

    channel: str
    caps: ContactCaps = field(default_factory=ContactCaps)
    quiet_hours: QuietHours = field(default_factory=lambda: QuietHours.parse("21:00-08:00"))
    time_zone: str = "UTC"
    delay_ms: int = 0
    retry_ms: int = 60_000
    remember_ms: int = 30 * DAY_MS

    def __post_init__(self) -> None:
        zone(self.time_zone)  # fails at once on an unknown zone


@dataclass(frozen=True)
class Step:
    """What the outbox decided for one due message: ``send`` (with ``message`` and
    ``contact``) or not (``reason``).

    >>> Step("d", "never", reason="expired").send
    False
    """

    decision_id: str
    outcome: str
    reason: str = ""
    message: OutboundMessage | None = None
    contact: Contact | None = None
    decision: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def send(self) -> bool:
        """Whether the message is to be handed to the sink now."""
        return self.outcome == "send"


class Outbox:
    """Per-visitor and per-contact state of one channel (see the module docstring)."""

    def __init__(self, options: OutboxOptions, catalog: Catalog) -> None:
        self.options = options
        self.catalog = catalog
        self.pending: dict[str, dict[str, Any]] = {}  # decision id -> {"d": decision, "due"}
        self.sent_ids: dict[str, int] = {}  # decision id -> sent at (first wins)
        self.sent_to: dict[str, list[int]] = {}  # contact ref -> send times (caps)
        self.dismissed: dict[str, dict[str, int]] = {}  # visitor -> offer key -> time
        self.purchased: dict[str, int] = {}  # visitor -> time learned
        self.withdrawn: dict[str, int] = {}  # visitor -> time (no consent / erased)
        self.page_decisions: dict[str, tuple[str, str, int]] = {}  # id -> visitor, offer, at
        self.counts: Counter[str] = Counter()

    # -- inputs ---------------------------------------------------------------------------

    def on_decision(self, decision: Mapping[str, Any]) -> str:
        """Take a Decision record; returns what was done: ``queued``, ``remembered`` (a page
        decision, kept for dismissals), ``duplicate``, or ``ignored:<why>``.

        >>> from pipeline.decide.catalog import Action
        >>> box = Outbox(OutboxOptions(channel="email"),
        ...              Catalog(actions=(Action(id="no_action", slot="none"),)))
        >>> box.on_decision({"decision_id": "x", "visitor_id": "v", "action_id": "no_action",
        ...                  "channel": "web", "experiment_arm": "personalized",
        ...                  "created_at": 0, "ttl_ms": 0})
        'ignored:no_action'
        """
        decision_id = str(decision["decision_id"])
        channel = str(decision.get("channel", "web"))
        action = self.catalog.get(str(decision["action_id"]))
        if action is not None and action.is_no_action:
            return self._count("ignored:no_action")
        if channel in PAGE_CHANNELS:
            offer = action.offer_key if action is not None else str(decision["action_id"])
            self.page_decisions[decision_id] = (str(decision["visitor_id"]), offer,
                                                int(decision["created_at"]))
            return self._count("remembered")
        if channel != self.options.channel:
            return self._count("ignored:other_channel")
        if decision.get("experiment_arm") == "control":
            return self._count("ignored:control")
        if decision_id in self.sent_ids or decision_id in self.pending:
            return self._count("duplicate")
        if action is None:
            return self._count("ignored:unknown_action")
        self.pending[decision_id] = {"d": dict(decision),
                                     "due": int(decision["created_at"]) + self.options.delay_ms}
        return self._count("queued")

    def on_outcome(self, outcome: Mapping[str, Any]) -> None:
        """Take an Outcome: a dismissal of a page decision, or a server-reported purchase."""
        kind = str(outcome["kind"])
        visitor = str(outcome["visitor_id"])
        at = int(outcome["event_time"])
        if kind == "dismissed":
            known = self.page_decisions.get(str(outcome["decision_id"]))
            if known is not None and known[0] == visitor:
                self.dismissed.setdefault(visitor, {})[known[1]] = at
        elif kind == "converted" and outcome.get("reported_by", "server") == "server":
            self.purchased.setdefault(visitor, at)

    def on_profile(self, visitor_id: str, *, purchased_ever: bool, allowed: bool,
                   erased: bool, at_ms: int) -> None:
        """Take a profile view of ``visitor_id`` (the profile side's, across devices).

        >>> from pipeline.decide.catalog import Action
        >>> box = Outbox(OutboxOptions(channel="email"),
        ...              Catalog(actions=(Action(id="no_action", slot="none"),)))
        >>> box.on_profile("v", purchased_ever=True, allowed=True, erased=False, at_ms=5)
        >>> box.purchased
        {'v': 5}
        """
        if erased:
            self.forget(visitor_id)
            self.withdrawn[visitor_id] = at_ms
            return
        if purchased_ever:
            self.purchased.setdefault(visitor_id, at_ms)
        if not allowed:
            self.withdrawn[visitor_id] = at_ms
        else:
            self.withdrawn.pop(visitor_id, None)

    def forget(self, visitor_id: str) -> None:
        """Drop everything held about ``visitor_id`` (erasure).

        >>> from pipeline.decide.catalog import Action
        >>> box = Outbox(OutboxOptions(channel="email"),
        ...              Catalog(actions=(Action(id="no_action", slot="none"),)))
        >>> box.purchased["v"] = 1
        >>> box.forget("v"); box.purchased
        {}
        """
        for decision_id in [d for d, p in self.pending.items()
                            if p["d"]["visitor_id"] == visitor_id]:
            del self.pending[decision_id]
        self.dismissed.pop(visitor_id, None)
        self.purchased.pop(visitor_id, None)
        for decision_id in [d for d, v in self.page_decisions.items() if v[0] == visitor_id]:
            del self.page_decisions[decision_id]

    # -- what to send ---------------------------------------------------------------------

    def due(self, now_ms: int, resolver: ContactResolver) -> list[Step]:
        """Decide for every message due at ``now_ms``: ``send`` (the send is counted against
        the contact's caps at once; call :meth:`failed` if the sink refuses), ``never`` (with
        the reason), or ``held`` for quiet hours (it stays pending; its due time moves to the
        window's end, so it is reported once per hold)."""
        steps: list[Step] = []
        for decision_id, entry in sorted(self.pending.items(), key=lambda kv: kv[1]["due"]):
            if entry["due"] > now_ms:
                continue
            step = self._judge(decision_id, entry, now_ms, resolver)
            if step.outcome == "held":
                self._count("held:quiet_hours")
                steps.append(step)
                continue
            del self.pending[decision_id]
            if step.send:
                assert step.contact is not None
                self.sent_ids[decision_id] = now_ms
                self.sent_to.setdefault(step.contact.ref, []).append(now_ms)
            self._count(f"{step.outcome}:{step.reason}" if step.reason else step.outcome)
            steps.append(step)
        return steps

    def _judge(self, decision_id: str, entry: dict[str, Any], now_ms: int,
               resolver: ContactResolver) -> Step:
        decision = entry["d"]
        visitor = str(decision["visitor_id"])
        action = self.catalog[str(decision["action_id"])]
        if int(decision["created_at"]) + int(decision.get("ttl_ms", 0)) <= now_ms:
            return Step(decision_id, "never", "expired")
        if visitor in self.withdrawn:
            return Step(decision_id, "never", "no_consent")
        if action.first_time_buyer_offer and visitor in self.purchased:
            return Step(decision_id, "never", "purchased")
        if action.offer_key in self.dismissed.get(visitor, {}):
            return Step(decision_id, "never", "dismissed")
        contact = resolver.resolve(visitor, self.options.channel)
        if contact is None:
            return Step(decision_id, "never", "no_contact")
        tz = zone(contact.time_zone or self.options.time_zone)
        release = self.options.quiet_hours.release_ms(now_ms, tz)
        if release > now_ms:
            entry["due"] = release
            return Step(decision_id, "held", "quiet_hours")
        if not self.options.caps.allows(self.sent_to.get(contact.ref, []), now_ms):
            return Step(decision_id, "never", "frequency_cap")
        return Step(decision_id, "send", message=render_message(decision, contact.ref),
                    contact=contact, decision=decision)

    def failed(self, step: Step, now_ms: int) -> None:
        """The sink refused ``step``'s message: undo its send and try again after
        ``retry_ms``."""
        if step.contact is None or step.decision is None:
            return
        sent_at = self.sent_ids.pop(step.decision_id, None)
        times = self.sent_to.get(step.contact.ref, [])
        if sent_at in times:
            times.remove(sent_at)
        self.pending[step.decision_id] = {"d": dict(step.decision),
                                          "due": now_ms + self.options.retry_ms}
        self._count("retry")

    # -- bookkeeping ----------------------------------------------------------------------

    def prune(self, now_ms: int) -> None:
        """Forget what no rule needs any more (old sends, dismissals, purchases)."""
        horizon = now_ms - self.options.remember_ms
        cap_horizon = now_ms - self.options.caps.horizon_ms
        for ref in list(self.sent_to):
            kept = [t for t in self.sent_to[ref] if t > cap_horizon]
            if kept:
                self.sent_to[ref] = kept
            else:
                del self.sent_to[ref]
        for table in (self.sent_ids, self.purchased, self.withdrawn):
            for key in [k for k, t in table.items() if t <= horizon]:
                del table[key]
        for visitor in list(self.dismissed):
            offers = {o: t for o, t in self.dismissed[visitor].items() if t > horizon}
            if offers:
                self.dismissed[visitor] = offers
            else:
                del self.dismissed[visitor]
        for key in [k for k, v in self.page_decisions.items() if v[2] <= horizon]:
            del self.page_decisions[key]

    def _count(self, what: str) -> str:
        self.counts[what] += 1
        return what

    def to_state(self) -> dict[str, Any]:
        """A JSON-ready snapshot (ids, times and decided payloads; no contact addresses).

        >>> from pipeline.decide.catalog import Action
        >>> box = Outbox(OutboxOptions(channel="email"),
        ...              Catalog(actions=(Action(id="no_action", slot="none"),)))
        >>> box.purchased["v"] = 1
        >>> again = Outbox(box.options, box.catalog); again.load_state(box.to_state())
        >>> again.purchased
        {'v': 1}
        """
        return {"version": 1, "pending": self.pending, "sent_ids": self.sent_ids,
                "sent_to": self.sent_to, "dismissed": self.dismissed,
                "purchased": self.purchased, "withdrawn": self.withdrawn,
                "page_decisions": {k: list(v) for k, v in self.page_decisions.items()}}

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Resume from :meth:`to_state`'s output."""
        self.pending = {str(k): dict(v) for k, v in state.get("pending", {}).items()}
        self.sent_ids = {str(k): int(v) for k, v in state.get("sent_ids", {}).items()}
        self.sent_to = {str(k): [int(t) for t in v] for k, v in state.get("sent_to", {}).items()}
        self.dismissed = {str(k): {str(o): int(t) for o, t in v.items()}
                          for k, v in state.get("dismissed", {}).items()}
        self.purchased = {str(k): int(v) for k, v in state.get("purchased", {}).items()}
        self.withdrawn = {str(k): int(v) for k, v in state.get("withdrawn", {}).items()}
        self.page_decisions = {str(k): (str(v[0]), str(v[1]), int(v[2]))
                               for k, v in state.get("page_decisions", {}).items()}
