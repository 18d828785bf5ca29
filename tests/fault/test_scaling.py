"""Two or three workers in one consumer group split the partitions; kill one, the rest take over.

The dead worker's visitors continue their sessions on a survivor, from the state the
survivor restored from the changelogs.

The rest of every journey is sent right after the kill, while the survivors are
being given the dead worker's partitions and restore its stores: nothing sent during
that rebalance may be lost.
"""

from __future__ import annotations

import dataclasses
import signal
import time
import uuid

import pytest

from pipeline.processes import wait_caught_up
from pipeline.settings import Settings
from pipeline.topics import EVENTS
from tests.fault.checks import check_decisions, session_mismatches, visitor_states
from tests.fault.conftest import StartWorker, fresh_topics, generation, recovered
from tests.fault.kafka_state import group_assignment, send_events, wait_until
from tests.fault.workload import build_workload, reference_run, session_summary


@pytest.mark.parametrize(("count", "partitions"), [(2, 4), (3, 6)])
def test_workers_split_partitions_and_the_survivors_take_over_without_loss(
        kafka: Settings, workers: StartWorker, count: int, partitions: int) -> None:
    # The range assignor gives 3 workers on 4 partitions 2+1+1; 6 partitions, 2 each.
    topics = fresh_topics(dataclasses.replace(kafka, partitions=partitions))
    workload = build_workload(f"sc{uuid.uuid4().hex[:4]}", visitors=120)
    half = len(workload.events) // 2  # round-robin: a prefix of every visitor's journey
    first_half, second_half = list(workload.events[:half]), list(workload.events[half:])
    ref_half = reference_run(first_half)
    ref = reference_run(workload.events)
    events_topic = topics.topic(EVENTS)
    every = set(range(topics.partitions))

    started = [workers(topics, f"w{i}") for i in range(count)]
    for worker in started:
        worker.wait_ready()
    first = started[0]

    def split(members_wanted: int) -> dict[str, set[int]] | None:
        members = group_assignment(topics, first.group, events_topic)
        return (members if members and len(members) == members_wanted
                and all(members.values()) else None)

    members = wait_until(lambda: split(count), timeout=90,
                         what=f"{count} members with partitions each")
    split_at = {id(w): generation(w) for w in started}
    wait_until(lambda: all(recovered(w, split_at[id(w)]) for w in started), timeout=60,
               what="every worker recovered")
    owned = list(members.values())
    assert sum(len(p) for p in owned) == len(every), members  # disjoint
    assert set().union(*owned) == every, members  # all covered
    send_events(topics, first_half)
    wait_caught_up(first, [events_topic], timeout=120)
    before = visitor_states(topics, first)
    assert not session_mismatches(before, workload, ref_half)

    dead, survivors = started[-1], started[:-1]
    assert dead.stop(signal.SIGKILL) == -signal.SIGKILL
    killed_at = time.monotonic()
    send_events(topics, second_half)  # during the takeover (see the module docstring)
    rest = wait_until(lambda: split(count - 1), timeout=90,
                      what=f"the {count - 1} survivor(s) alone in the group")
    assert set().union(*rest.values()) == every, rest
    wait_until(lambda: all(recovered(w, split_at[id(w)] + 1) for w in survivors), timeout=60,
               what="the survivors' tables restored")
    took_over = time.monotonic() - killed_at
    wait_caught_up(first, [events_topic], timeout=120)
    finished = time.monotonic() - killed_at

    after = visitor_states(topics, first)
    check, _ = check_decisions(topics, ref, workload)
    print(f"\nscaling: {count} workers owned {sorted(map(sorted, owned))}; after kill -9 "
          f"the survivors owned {sorted(map(sorted, rest.values()))} in {took_over:.1f} s "
          f"and caught up in {finished:.1f} s; {check.triggers} decisions")
    for worker in survivors:
        assert worker.proc.poll() is None, worker.tail()
    assert not session_mismatches(after, workload, ref)
    for visitor in workload.visitors:  # every session went on where the dead worker left it
        old, new = before[visitor], after[visitor]
        assert old is not None and new is not None
        assert session_summary(new)[0] == session_summary(old)[0], visitor
    assert not check.missing and not check.extra and not check.conflicting
