"""Two workers in one consumer group split the partitions; kill one, the other takes over.

The dead worker's visitors continue their sessions on the survivor, from the state the
survivor restored from the changelogs (it also kept standby copies: Faust's
``table_standby_replicas`` defaults to 1).

Known gap, not exercised here so that this test is deterministic: events that reach a
worker while Faust is still (re)assigning partitions and restoring tables were seen to
be skipped (faust-streaming 0.15.3 drops messages fetched while flow control is paused
or from an older generation, ``faust/streams.py`` "Skipping message ... generation_id"):
a skipped event is neither processed nor acknowledged, so either its offset is
committed over (the event is lost silently) or the partition's commits stall. Observed
in about 1 run in 10 when the second half below was sent right after the kill.
"""

from __future__ import annotations

import signal
import time
import uuid

from pipeline.processes import wait_caught_up
from pipeline.settings import Settings
from pipeline.topics import EVENTS
from tests.fault.checks import check_decisions, session_mismatches, visitor_states
from tests.fault.conftest import StartWorker, generation, recovered
from tests.fault.kafka_state import group_assignment, send_events, wait_until
from tests.fault.workload import build_workload, reference_run, session_summary


def test_two_workers_split_partitions_and_the_survivor_takes_over_without_loss(
        topics: Settings, workers: StartWorker) -> None:
    workload = build_workload(f"sc{uuid.uuid4().hex[:4]}", visitors=120)
    half = len(workload.events) // 2  # round-robin: a prefix of every visitor's journey
    first_half, second_half = list(workload.events[:half]), list(workload.events[half:])
    ref_half = reference_run(first_half)
    ref = reference_run(workload.events)
    events_topic = topics.topic(EVENTS)
    every = set(range(topics.partitions))

    a, b = workers(topics, "a"), workers(topics, "b")
    a.wait_ready()
    b.wait_ready()

    def split() -> dict[str, set[int]] | None:
        members = group_assignment(topics, a.group, events_topic)
        return members if members and len(members) == 2 and all(members.values()) else None

    members = wait_until(split, timeout=90, what="two members with partitions each")
    split_at = max(generation(a), generation(b))
    wait_until(lambda: recovered(a, split_at) and recovered(b, split_at), timeout=60,
               what="both workers recovered")
    owned = list(members.values())
    assert not owned[0] & owned[1], members  # disjoint
    assert owned[0] | owned[1] == every, members  # all covered
    send_events(topics, first_half)
    wait_caught_up(a, [events_topic], timeout=120)
    before = visitor_states(topics, a)
    assert not session_mismatches(before, workload, ref_half)

    assert b.stop(signal.SIGKILL) == -signal.SIGKILL
    killed_at = time.monotonic()

    def alone() -> dict[str, set[int]] | None:
        members = group_assignment(topics, a.group, events_topic)
        return members if members and len(members) == 1 else None

    survivor = wait_until(alone, timeout=90, what="the survivor alone in the group")
    assert list(survivor.values()) == [every], survivor
    # The rest of every journey goes to the survivor once it has restored the dead worker's
    # tables. (Sent during the takeover instead, events were sometimes skipped by Faust:
    # see the module docstring.)
    wait_until(lambda: recovered(a, split_at + 1), timeout=60,
               what="the survivor's tables restored")
    took_over = time.monotonic() - killed_at
    send_events(topics, second_half)
    wait_caught_up(a, [events_topic], timeout=120)
    finished = time.monotonic() - killed_at

    after = visitor_states(topics, a)
    check, _ = check_decisions(topics, ref, workload)
    print(f"\nscaling: 2 workers owned {sorted(map(sorted, owned))}; after kill -9 the "
          f"survivor owned all partitions in {took_over:.1f} s and caught up in "
          f"{finished:.1f} s; {check.triggers} decisions")
    assert a.proc.poll() is None, a.tail()
    assert not session_mismatches(after, workload, ref)
    for visitor in workload.visitors:  # every session went on where the dead worker left it
        old, new = before[visitor], after[visitor]
        assert old is not None and new is not None
        assert session_summary(new)[0] == session_summary(old)[0], visitor
    assert not check.missing and not check.extra and not check.conflicting
