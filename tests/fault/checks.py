"""What the fault tests compare between the worker's output and the reference run."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pipeline.delivery import DecisionStore, Offered
from pipeline.engine import VisitorState
from pipeline.processes import WorkerProcess, wait_caught_up
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, DECISIONS_LOG, EVENTS, LEARNING
from tests.fault.kafka_state import (
    decisions_by_trigger,
    decoded,
    latest_by_key,
    read_all,
    send_events,
    wait_until,
)
from tests.fault.workload import Reference, Workload, session_summary


def visitor_states(settings: Settings, worker: WorkerProcess) -> dict[str, VisitorState | None]:
    """The latest value of every key of the ``visitors`` changelog, decoded."""
    latest = latest_by_key(read_all(settings, worker.changelog("visitors")))
    return {key.decode(): VisitorState.from_bytes(value) if value is not None else None
            for key, value in latest.items()}


def session_mismatches(states: dict[str, VisitorState | None], workload: Workload,
                       ref: Reference) -> list[str]:
    """Visitors whose (session id, events, page views) differ from the reference."""
    out = []
    for visitor in workload.visitors:
        state = states.get(visitor)
        if state is None or state.session is None:
            out.append(f"{visitor}: no state")
            continue
        got, want = session_summary(state), ref.session_of(visitor)
        if got != want:
            out.append(f"{visitor}: {got} != {want}")
    return out


@dataclass(frozen=True)
class DecisionCheck:
    """The decision log of a run against the reference's triggers."""

    logged: int
    triggers: int
    #: reference triggers without any logged decision
    missing: tuple[str, ...]
    #: triggers the worker decided on that the reference did not
    extra: tuple[str, ...]
    #: triggers with more than one distinct decision id
    conflicting: tuple[str, ...]
    #: records re-emitted with the same id (at-least-once redelivery)
    redelivered: int
    #: the decision id of every trigger is the reference's (uuid5 of the event id)
    ids_match: bool
    #: decision ids logged with more than one content (action or payload)
    two_contents: tuple[str, ...] = ()


def check_decisions(settings: Settings, ref: Reference,
                    workload: Workload) -> tuple[DecisionCheck, list[dict[str, Any]]]:
    """Read the whole decision log and compare this workload's main-stream triggers with ``ref``."""
    logs = decoded(settings, settings.topic(DECISIONS_LOG))
    by_trigger = decisions_by_trigger(logs)
    flush_ids = {str(e["event_id"]) for e in workload.flush}
    wanted = {t: str(r["decision"]["decision_id"]) for t, r in ref.decisions.items()
              if t not in flush_ids}
    mine = f"{workload.run}-"  # event ids of this workload (other runs may share the topic)
    got = {t: ids for t, ids in by_trigger.items() if t not in flush_ids and t.startswith(mine)}
    counts = Counter(str(r["decision"]["trigger_event_id"]) for r in logs
                     if str(r["decision"]["trigger_event_id"]).startswith(mine))
    check = DecisionCheck(
        logged=len(logs), triggers=len(got),
        missing=tuple(sorted(set(wanted) - set(got))),
        extra=tuple(sorted(set(got) - set(wanted))),
        conflicting=tuple(sorted(t for t, ids in got.items() if len(ids) > 1)),
        redelivered=sum(n - 1 for n in counts.values()),
        ids_match=all(got[t] == {i} for t, i in wanted.items() if t in got),
        two_contents=tuple(sorted(d for d, contents in contents_by_id(logs).items()
                                  if len(contents) > 1)),
    )
    return check, logs


def contents_by_id(logs: list[dict[str, Any]]) -> dict[str, set[str]]:
    """decision id -> the distinct contents (action and payload, as logged) seen for it."""
    out: dict[str, set[str]] = {}
    for record in logs:
        decision = record["decision"]
        content = json.dumps([decision.get("action_id"), decision.get("payload")],
                             sort_keys=True, default=str)
        out.setdefault(str(decision["decision_id"]), set()).add(content)
    return out


def flush_and_wait(settings: Settings, workload: Workload, ref: Reference,
                   worker: WorkerProcess | None = None) -> None:
    """Send the workload's flush events; wait for the decision on the last, then (given
    the worker) until it has committed every event."""
    send_events(settings, list(workload.flush))
    trigger = str(workload.flush[-1]["event_id"])
    wait_until(lambda: any(r["decision"]["trigger_event_id"] == trigger
                           for r in check_decisions(settings, ref, workload)[1]),
               timeout=60, what="the flush decision")
    if worker is not None:
        wait_caught_up(worker, [settings.topic(EVENTS)], timeout=120)


@dataclass(frozen=True)
class LearningCheck:
    """The learning records on the topic (first of an id wins) against the reference's."""

    records: int
    unique: int
    #: reference records not on the topic
    lost: tuple[str, ...]
    #: ids on the topic the reference does not have
    extra: tuple[str, ...]
    #: ids on the topic with a content other than the reference's
    different: tuple[str, ...]
    #: ids on the topic more than once with different contents
    two_contents: tuple[str, ...]


def check_learning(settings: Settings, ref: Reference, workload: Workload) -> LearningCheck:
    """Compare this workload's learning records with ``ref`` (its visitors only), after
    the flush: every reward of the reference is due by then."""
    mine = set(workload.visitors)
    records = [r for r in decoded(settings, settings.topic(LEARNING)) if r["visitor_id"] in mine]
    contents: dict[str, set[str]] = {}
    first: dict[str, dict[str, Any]] = {}
    for record in records:
        key = str(record["record_id"])
        first.setdefault(key, record)
        contents.setdefault(key, set()).add(json.dumps(record, sort_keys=True))
    wanted = {k: r for k, r in ref.learning.items() if r["visitor_id"] in mine}
    return LearningCheck(
        records=len(records), unique=len(first),
        lost=tuple(sorted(set(wanted) - set(first))),
        extra=tuple(sorted(set(first) - set(wanted))),
        different=tuple(sorted(k for k, r in first.items() if k in wanted and r != wanted[k])),
        two_contents=tuple(sorted(k for k, c in contents.items() if len(c) > 1)),
    )


def assert_learning_exact(check: LearningCheck) -> None:
    """Nothing lost, nothing extra, every record as the reference's, one content an id."""
    assert not check.lost, f"{len(check.lost)} learning records lost: {check.lost[:5]}"
    assert not check.extra, check.extra[:5]
    assert not check.different, check.different[:5]
    assert not check.two_contents, check.two_contents[:5]
    assert check.unique > 0


@dataclass(frozen=True)
class DeliveryCheck:
    """The actions topic offered to the delivery service's store, in topic order."""

    records: int
    unique_ids: int
    ids: frozenset[str]
    #: offers the store turned down as already seen
    duplicates: int
    #: decision ids the store took (stored or superseded) more than once
    served_twice: tuple[str, ...]


def check_delivery(settings: Settings) -> DeliveryCheck:
    """Offer every record of the actions topic to the delivery service's store, at its own time."""
    store = DecisionStore(max_visitors=1_000_000)
    taken: Counter[str] = Counter()
    records = decoded(settings, settings.topic(ACTIONS))
    for record in records:
        offered = store.offer(record, now_ms=int(record["created_at"]))
        if offered is not Offered.DUPLICATE:
            taken[str(record["decision_id"])] += 1
    return DeliveryCheck(
        records=len(records), unique_ids=len({str(r["decision_id"]) for r in records}),
        ids=frozenset(str(r["decision_id"]) for r in records),
        duplicates=store.stats.duplicates,
        served_twice=tuple(sorted(d for d, n in taken.items() if n > 1)))
