"""The fault suite's input and its uninterrupted reference run.

A workload is many visitors whose events are interleaved round-robin (each visitor's
own order preserved, as Kafka keeps it per partition), spread over ~36 minutes of
event time that ends a few minutes before now, so that:

- no session ends (gaps stay under the 30-minute inactivity gap) and no state is old
  enough for the worker's TTL sweep: the intent model learns nothing, so whether an
  event decides depends only on the visitor's own events, never on the interleaving;
- decisions outlive the 10-minute reward wait inside the stream, so rewards expire
  (default rewards) and the worker emits learning records while the stream runs.

The workers of the fault suite run without a learner: the model stays the fresh one, so
what is decided does not depend on when a snapshot arrives, and the learning records
the worker emits can be compared with the reference's, content and all.

The *flush* follows once the worker has caught up, 11 minutes of event time after the
stream: a scroll of every visitor (in every partition the stream used, past the reward
wait of every decision: all of them are expired, in the worker as in the reference),
then two page views of a flusher, whose last decision tells the test the worker got
there.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.client import click_event
from pipeline.engine import Engine, EngineOptions, VisitorState
from pipeline.engine.routing import event_outputs
from pipeline.topics import ACTIONS, DECISIONS_LOG, LEARNING, SIGNALS

Record = dict[str, Any]

#: Event time between a visitor's steps, ms (12 steps: 33 minutes, no 30-minute gap).
STEP_MS = 3 * 60 * 1000
#: The stream ends this long before the wall clock: the flush events (11 min later)
#: stay inside the worker's 5-minute future-skew limit.
END_BEFORE_NOW_MS = 7 * 60 * 1000
#: First flush event after the stream's end: past the 10-minute reward wait.
FLUSH_AFTER_MS = 11 * 60 * 1000

_CONTEXT = {"traffic_source": "search", "campaign": None, "device": "desktop",
            "country": "DE", "region": None, "timezone": None,  # no midnight split
            "sector": "ecommerce", "industry": None}


def _step(visitor: str, run: str, index: int, t: int) -> list[Record]:
    """One step of a visitor's journey: a page view, or an interaction on the page."""
    def event(kind: str, at: int, n: int = 0, **parts: Any) -> Record:
        return click_event(visitor, kind, at, event_id=f"{run}-{visitor}-{index}.{n}",
                           context=dict(_CONTEXT), **parts)

    product = f"p{(index * 7 + len(visitor)) % 9}"
    kind = index % 4
    if kind == 0:
        return [event("page_view", t, url=f"https://shop.example/p/{product}",
                      product_id=product, category="audio")]
    if kind == 1:
        return [event("scroll", t, scroll={"depth_pct": 40.0 + index})]
    if kind == 2 and index % 8 == 2 and zlib.crc32(visitor.encode()) % 3 == 0:
        # A rage click: four clicks on one spot within a second (a struggle signal).
        return [event("click", t + 200 * n, n, page_type="checkout", product_id=None,
                      url="https://shop.example/checkout",
                      click={"x": 500 + n, "y": 300, "target": "#pay", "interactive": True})
                for n in range(4)]
    if kind == 2:
        return [event("click", t, click={"x": 10 * index, "y": 200, "target": "#details",
                                         "interactive": True})]
    return [event("page_view", t, page_type="listing", url="https://shop.example/c/audio",
                  product_id=None, category="audio")]


@dataclass(frozen=True)
class Workload:
    """A stream of ClickEvents in production order, and the flush events."""

    run: str
    visitors: tuple[str, ...]
    events: tuple[Record, ...]
    flush: tuple[Record, ...]
    end_ms: int

    def by_visitor(self) -> dict[str, list[Record]]:
        """Each visitor's events, in order."""
        out: dict[str, list[Record]] = {v: [] for v in self.visitors}
        for event in self.events:
            out[event["visitor_id"]].append(event)
        return out


def build_workload(run: str, visitors: int = 150, steps: int = 12,
                   now_ms: int | None = None) -> Workload:
    """``visitors`` journeys of ``steps`` steps, interleaved round-robin."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    end = now - END_BEFORE_NOW_MS
    start = end - steps * STEP_MS
    ids = tuple(f"{run}-v{i:04d}" for i in range(visitors))
    journeys = []
    for n, visitor in enumerate(ids):
        offset = (n * 997) % STEP_MS  # visitors start at different moments
        journeys.append([e for i in range(steps)
                         for e in _step(visitor, run, i, start + offset + i * STEP_MS)])
    events: list[Record] = []
    for i in range(max(len(j) for j in journeys)):
        events.extend(j[i] for j in journeys if i < len(j))
    flusher = f"{run}-flush"
    last = max(e["event_time"] for e in events)
    scrolls = tuple(click_event(v, "scroll", last + FLUSH_AFTER_MS, event_id=f"{v}-flush",
                                context=dict(_CONTEXT), scroll={"depth_pct": 90.0})
                    for v in ids)
    flush = scrolls + tuple(click_event(flusher, "page_view", last + FLUSH_AFTER_MS + k * 1000,
                                        event_id=f"{run}-flush-{k}", context=dict(_CONTEXT))
                            for k in range(2))
    return Workload(run, ids, tuple(events), flush, end)


@dataclass
class Reference:
    """What the engine produces over a workload without interruption."""

    states: dict[str, VisitorState] = field(default_factory=dict)
    #: trigger event id -> DecisionLog record
    decisions: dict[str, Record] = field(default_factory=dict)
    #: trigger event id -> Decision record delivered on personalization.actions
    actions: dict[str, Record] = field(default_factory=dict)
    signals: list[Record] = field(default_factory=list)
    #: record id -> learning record, every reward resolved (expired at the end) and label
    learning: dict[str, Record] = field(default_factory=dict)

    def session_of(self, visitor: str) -> tuple[str, int, int]:
        """(session id, events, page views) of the visitor's current session."""
        return session_summary(self.states[visitor])


def session_summary(state: VisitorState) -> tuple[str, int, int]:
    """(session id, events, page views): deterministic for a given event sequence."""
    session = state.session
    assert session is not None
    summary = session.summary()
    return session.session_id, int(summary.events), int(summary.page_views)


def reference_run(events: Iterable[Record], flush: Iterable[Record] = (),
                  options: EngineOptions | None = None) -> Reference:
    """Run the worker's engine over ``events`` then ``flush``, in one process, in order,
    then expire every reward still pending (what the worker's timers do, in time)."""
    engine = Engine(options or EngineOptions(), learn_inline=False)
    ref = Reference()
    flush = list(flush)
    for event in [*events, *flush]:
        visitor = str(event["visitor_id"])
        result = engine.on_event(ref.states.get(visitor), event, None)
        if not result.duplicate and result.late_reason is None and result.state is not None:
            ref.states[visitor] = result.state
        for out in event_outputs(result, event):
            if out.topic == DECISIONS_LOG:
                ref.decisions[str(event["event_id"])] = dict(out.record)
            elif out.topic == ACTIONS:
                ref.actions[str(event["event_id"])] = dict(out.record)
            elif out.topic == SIGNALS:
                ref.signals.append(dict(out.record))
            elif out.topic == LEARNING:
                ref.learning[str(out.record["record_id"])] = dict(out.record)
    for state in ref.states.values():
        for record in engine.expire(state, 2**62):
            ref.learning[str(record["record_id"])] = record
    return ref
