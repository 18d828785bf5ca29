"""Attribute purchases to logged decisions of either arm: how the report counts conversions.

``converted`` outcomes exist only for decisions that were shown; control decisions are
logged but never shown, so counting conversions from outcomes makes the control arm
read 0%. The experiment's truth is the purchase itself: the worker forwards every
purchase event it accepts (``rtp.internal.conversions``, a ClickEvent per purchase,
which ``rtp report --from-topics`` and the demo export as ``purchases.jsonl``), and any
clickstream file holds them too.

The rule (pinned by tests):

- A purchase by visitor ``v`` at time ``t`` is made by a **person**: the experiment
  unit (DecisionLog v5 ``experiment_unit``: the visitor id of the person's first sight,
  kept through identify and alias and shared by their devices) of ``v``'s latest decision
  at or before ``t``; for logs written before v5 the unit is the visitor id, and the rule
  below is the per-visitor rule it was.
- The purchase is **attributed** to every logged decision of ``v`` **and of its person
  on any device**, in either arm and for any action (``no_action`` and control decisions
  included, served or not), made in the attribution window before it:
  ``t - window_ms <= created_at <= t``; a decision the purchase itself triggered is
  not (it came after the purchase, at the same event time). A purchase on the phone
  credits the decisions made on the laptop of the same person.
- **Per person** (the experiment's unit in the report; ``Attribution.visitors`` is keyed
  by it): converted when at least one purchase they made is attributed; ``conversions``
  counts those purchases (each once, however many decisions it credits) and ``revenue``
  sums their values.
- **Per decision** (the report's per-action table): ``conversions`` counts the purchases
  attributed to it; a purchase's value is split equally among the decisions it credits,
  so revenue summed over decisions equals revenue summed over persons (nothing counted
  twice).
- Purchases are de-duplicated by event id (a worker that redoes its last seconds after a
  crash forwards them again); a purchase with a negative or non-finite value is refused
  and counted; one no decision of its visitor or person precedes within the window is
  counted as unattributed (a visitor never decided for, or too long before).

Converted outcomes (reported by a page, or the simulator's credit to shown decisions)
are then not counted as conversions at all: the purchase is the one source, so nothing
is counted twice. The bandit's own rewards are unchanged: a conversion rewards only the
*served* decision last shown to the purchase's visitor (this device: a worker holds
one visitor's state) within its reward wait, never ``no_action`` (see
:meth:`pipeline.engine.Engine.on_event`).

>>> from pipeline.replay.join import JoinedRow
>>> def row(did, visitor, at, arm):
...     return JoinedRow(decision_id=did, visitor_id=visitor, session_id="s", created_at=at,
...                      action_id="no_action", propensity=1.0, eligible={}, arm=arm)
>>> rows = [row("d1", "ctl", 0, "control"), row("d2", "ctl", 60_000, "control"),
...         row("d3", "per", 0, "personalized")]
>>> buy = Purchase("e9", "ctl", 90_000, 40.0)
>>> result = attribute(rows, [buy])
>>> result.visitors["ctl"], sorted(result.decisions)
(Credit(purchases=('e9',), revenue=40.0), ['d1', 'd2'])
>>> result.decisions["d1"].revenue, "per" in result.visitors, result.unattributed
(20.0, False, 0)

Two devices of one person (the phone's decisions carry the laptop's unit after identify):

>>> import dataclasses
>>> laptop = dataclasses.replace(row("l1", "laptop", 0, "control"), experiment_unit="laptop")
>>> phone = dataclasses.replace(row("p1", "phone", 60_000, "control"),
...                             experiment_unit="laptop")
>>> both = attribute([laptop, phone], [Purchase("e1", "phone", 90_000, 10.0)])
>>> sorted(both.decisions), sorted(both.visitors)
(['l1', 'p1'], ['laptop'])
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.replay.join import JoinedRow, RewardWeights
from pipeline.replay.sources import read_file

__all__ = [
    "Attribution",
    "AttributionOptions",
    "Credit",
    "Purchase",
    "PurchaseFile",
    "attribute",
    "credited_rows",
    "purchase_of",
    "read_purchases",
]


@dataclass(frozen=True)
class AttributionOptions:
    """How far back a purchase reaches: ``window_ms`` (default 30 minutes, the session
    inactivity timeout: a purchase credits the decisions of the visit it ends).

    >>> AttributionOptions().window_ms
    1800000
    """

    window_ms: int = 30 * 60_000

    def __post_init__(self) -> None:
        if self.window_ms < 0:
            raise ValueError(f"window_ms must be >= 0, got {self.window_ms}")


@dataclass(frozen=True)
class Purchase:
    """One purchase: its event id, visitor, event time (epoch ms) and value.

    >>> Purchase("e1", "v1", 5, 12.5).value
    12.5
    """

    purchase_id: str
    visitor_id: str
    at_ms: int
    value: float


@dataclass(frozen=True)
class PurchaseFile:
    """The purchases read from a file, and how many of its records were unreadable.

    >>> PurchaseFile((), 2).unreadable
    2
    """

    purchases: tuple[Purchase, ...]
    unreadable: int = 0


@dataclass(frozen=True)
class Credit:
    """The purchases attributed to a visitor (each once, with their value) or to one
    decision (with its share of their value).

    >>> credit = Credit(("e1", "e2"), 7.5)
    >>> credit.converted, credit.conversions
    (True, 2)
    """

    purchases: tuple[str, ...]
    revenue: float

    @property
    def converted(self) -> bool:
        """At least one attributed purchase."""
        return bool(self.purchases)

    @property
    def conversions(self) -> int:
        """How many purchases are attributed."""
        return len(self.purchases)


@dataclass(frozen=True)
class Attribution:
    """What :func:`attribute` found: credits by decision id and by visitor, and counts.

    ``purchases``: distinct valid purchases read; ``attributed``: those credited to at least
    one decision; ``unattributed``: the others; ``duplicates``: repeated event ids;
    ``invalid``: refused (negative or non-finite value).

    >>> Attribution({}, {}, 0, 0, 0, 0, 0, AttributionOptions()).unattributed
    0
    """

    decisions: Mapping[str, Credit]
    visitors: Mapping[str, Credit]
    purchases: int
    attributed: int
    unattributed: int
    duplicates: int
    invalid: int
    options: AttributionOptions


def purchase_of(event: Mapping[str, Any]) -> Purchase | None:
    """The purchase a ClickEvent records (``None`` for any other event type).

    A purchase without a ``purchase`` record has value 0. The value is kept as found:
    :func:`attribute` refuses (and counts) a negative or non-finite one.

    >>> purchase_of({"event_id": "e", "visitor_id": "v", "event_type": "purchase",
    ...              "event_time": 9, "purchase": {"value": 30.0}})
    Purchase(purchase_id='e', visitor_id='v', at_ms=9, value=30.0)
    >>> purchase_of({"event_id": "e", "visitor_id": "v", "event_type": "click",
    ...              "event_time": 9}) is None
    True
    """
    if event.get("event_type") != "purchase":
        return None
    value = float((event.get("purchase") or {}).get("value") or 0.0)
    return Purchase(str(event["event_id"]), str(event["visitor_id"]),
                    int(event["event_time"]), value)


def read_purchases(path: str | Path) -> PurchaseFile:
    """The purchase events of a ClickEvent file (``.jsonl`` or ``.avro``): the demo's
    export, or a whole recorded clickstream (other event types are skipped).

    Every purchase is returned as found (:func:`attribute` refuses and counts bad values);
    records that do not decode as a ClickEvent (a recorded stream holds what the worker
    dead-lettered) are skipped and counted. A file that cannot be read at all raises
    :class:`~pipeline.replay.errors.ReplaySourceError`.

    >>> import tempfile, pathlib
    >>> from pipeline.client.samples import sample_events
    >>> from pipeline.replay.logfile import write_records
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
    >>> _ = write_records(p, "ClickEvent", sample_events("v", 1_700_000_000_000))
    >>> with p.open("a") as fh:
    ...     _ = fh.write("not json" + chr(10))
    >>> found = read_purchases(p)
    >>> [(b.visitor_id, b.value) for b in found.purchases], found.unreadable
    ([('v', 349.0)], 1)
    """
    out: list[Purchase] = []
    unreadable = 0
    for source in read_file(path, "ClickEvent"):
        if source.record is None:
            unreadable += 1
            continue
        found = purchase_of(source.record)
        if found is not None:
            out.append(found)
    return PurchaseFile(tuple(out), unreadable)


def _person(purchase: Purchase, own: Sequence[JoinedRow], times: Sequence[int]) -> str:
    """The person who made ``purchase``: the experiment unit of their visitor's latest
    decision at or before it (the unit as it stood then), else of their first decision,
    else the visitor id itself (which is the unit of the device a person was first seen on).
    """
    latest = bisect.bisect_right(times, purchase.at_ms) - 1
    if latest >= 0:
        return own[latest].unit
    return own[0].unit if own else purchase.visitor_id


def attribute(rows: Sequence[JoinedRow], purchases: Iterable[Purchase],
              options: AttributionOptions | None = None) -> Attribution:
    """Attribute ``purchases`` to the decisions in ``rows`` (see the module's rule).

    >>> attribute([], [Purchase("e", "v", 0, 1.0)]).unattributed
    1
    """
    opts = options or AttributionOptions()
    by_visitor: dict[str, list[JoinedRow]] = {}
    by_unit: dict[str, list[JoinedRow]] = {}
    for r in sorted(rows, key=lambda r: (r.created_at, r.decision_id)):
        by_visitor.setdefault(r.visitor_id, []).append(r)
        by_unit.setdefault(r.unit, []).append(r)
    times = {v: [r.created_at for r in own] for v, own in by_visitor.items()}
    unit_times = {u: [r.created_at for r in own] for u, own in by_unit.items()}
    seen: set[str] = set()
    duplicates = invalid = attributed = 0
    decision_ids: dict[str, list[str]] = {}
    decision_revenue: dict[str, float] = {}
    visitor_ids: dict[str, list[str]] = {}
    visitor_revenue: dict[str, float] = {}
    for p in sorted(purchases, key=lambda p: (p.at_ms, p.purchase_id)):
        if p.purchase_id in seen:
            duplicates += 1
            continue
        seen.add(p.purchase_id)
        if not math.isfinite(p.value) or p.value < 0:
            invalid += 1
            continue
        person = _person(p, by_visitor.get(p.visitor_id, []), times.get(p.visitor_id, []))
        credited: dict[str, None] = {}  # decision ids, in time order, each once
        for own, at in ((by_visitor.get(p.visitor_id, []), times.get(p.visitor_id, [])),
                        (by_unit.get(person, []), unit_times.get(person, []))):
            lo = bisect.bisect_left(at, p.at_ms - opts.window_ms)
            hi = bisect.bisect_right(at, p.at_ms)
            # The decision this purchase triggered came after it, at the same event time.
            for r in own[lo:hi]:
                if r.trigger_event_id != p.purchase_id:
                    credited[r.decision_id] = None
        if not credited:
            continue
        attributed += 1
        share = p.value / len(credited)
        for did in credited:
            decision_ids.setdefault(did, []).append(p.purchase_id)
            decision_revenue[did] = decision_revenue.get(did, 0.0) + share
        visitor_ids.setdefault(person, []).append(p.purchase_id)
        visitor_revenue[person] = visitor_revenue.get(person, 0.0) + p.value
    return Attribution(
        decisions={d: Credit(tuple(ids), decision_revenue[d])
                   for d, ids in decision_ids.items()},
        visitors={v: Credit(tuple(ids), visitor_revenue[v])
                  for v, ids in visitor_ids.items()},
        purchases=len(seen) - invalid,
        attributed=attributed,
        unattributed=len(seen) - invalid - attributed,
        duplicates=duplicates,
        invalid=invalid,
        options=opts,
    )


def credited_rows(rows: Sequence[JoinedRow], attribution: Attribution,
                  weights: RewardWeights | None = None) -> list[JoinedRow]:
    """``rows`` with their conversions and revenue from ``attribution`` instead of from
    ``converted`` outcomes (the one source of conversions; clicks unchanged), and their
    ``reward`` recomputed from the same numbers with ``weights`` (default
    :class:`~pipeline.replay.join.RewardWeights`): ``weights.reward(clicked, converted,
    revenue)`` for a decision with an outcome or an attributed purchase, else
    ``weights.default_reward``. Every figure built from the rows (per-action totals, the
    cumulative reward) then counts the same conversions as the visitors' conversion rate.

    >>> from pipeline.replay.join import JoinedRow
    >>> r = JoinedRow(decision_id="d", visitor_id="v", session_id="s", created_at=0,
    ...               action_id="a", propensity=1.0, eligible={}, converted=True,
    ...               conversions=1, revenue=99.0, n_outcomes=1, reward=99.0)
    >>> none = attribute([r], [])
    >>> [(x.converted, x.conversions, x.revenue, x.reward) for x in credited_rows([r], none)]
    [(False, 0, 0.0, 0.0)]
    >>> c = dataclasses.replace(r, decision_id="c", arm="control", converted=False,
    ...                         conversions=0, revenue=0.0, n_outcomes=0, reward=0.0)
    >>> bought = attribute([c], [Purchase("p", "v", 5, 30.0)])
    >>> credited_rows([c], bought, RewardWeights(clicked=1.0, converted=1.0))[0].reward
    1.0
    """
    w = weights or RewardWeights()
    out = []
    for r in rows:
        credit = attribution.decisions.get(r.decision_id)
        converted = credit is not None
        revenue = 0.0 if credit is None else credit.revenue
        reward = (w.reward(r.clicked, converted, revenue) if r.n_outcomes or converted
                  else w.default_reward)
        out.append(dataclasses.replace(
            r, converted=converted,
            conversions=0 if credit is None else credit.conversions,
            revenue=revenue, reward=reward))
    return out
