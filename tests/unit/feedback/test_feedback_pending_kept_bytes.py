"""PendingRewards.to_bytes keeps its bytes between calls: after any sequence of changes
(register, outcomes, expiry, eviction, erasure, closed ids trimmed) they are what encoding
the decisions afresh writes, and they read back to the same decisions."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.feedback import PendingRewards, RewardOptions
from pipeline.feedback.rows import encode_rows

_KINDS = st.sampled_from(["shown", "clicked", "dismissed", "converted", "ignored"])
_OPS = st.lists(st.one_of(
    st.tuples(st.just("register"), st.integers(0, 9), st.integers(0, 2),
              st.lists(st.sampled_from([0.0, -0.0, 1.0, 0.25]), max_size=5)),
    st.tuples(st.just("outcome"), st.integers(0, 9), _KINDS, st.sampled_from([0.0, -0.0, 3.5])),
    st.tuples(st.just("expire"), st.integers(0, 2_000_000)),
    st.tuples(st.just("discard"), st.integers(0, 2)),
    st.tuples(st.just("bytes")),
), max_size=60)


@settings(max_examples=300, deadline=None)
@given(_OPS, st.integers(1, 4), st.integers(0, 3))
def test_the_kept_bytes_are_always_what_a_fresh_encoding_writes(
        ops: list[Any], max_pending: int, closed_memory: int) -> None:
    options = RewardOptions(max_pending=max_pending, closed_memory=closed_memory)
    pending = PendingRewards(options)
    clock = 0
    for op in [*ops, ("bytes",)]:
        clock += 1000
        if op[0] == "register":
            pending.register({"decision_id": f"d{op[1]}", "visitor_id": f"v{op[2]}",
                              "action_id": "a", "propensity": 0.5, "created_at": clock},
                             op[3])
        elif op[0] == "outcome":
            pending.on_outcome({"decision_id": f"d{op[1]}", "kind": op[2], "value": op[3],
                                "event_time": clock})
        elif op[0] == "expire":
            pending.expire(op[1])
        elif op[0] == "discard":
            pending.discard_visitor(f"v{op[1]}")
        if op[0] != "bytes":
            continue  # changes between two commits: the kept bytes must not hide them
        fresh = encode_rows([e for d in pending.decision_ids()
                             if (e := pending.get(d)) is not None], pending.closed_ids())
        data = pending.to_bytes()
        assert data == fresh
        assert pending.to_bytes() == fresh  # kept
        back = PendingRewards.from_bytes(data, options)
        assert back.to_bytes() == fresh
        assert [back.get(d) for d in back.decision_ids()] == \
            [pending.get(d) for d in pending.decision_ids()]
