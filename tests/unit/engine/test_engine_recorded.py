"""The engine's outputs and states on a seeded simulator stream, against a recorded run.

A closed loop without Kafka, as the worker runs it: every simulated ClickEvent is
encoded, admitted through the dead-letter gate (decode + meaning checks), folded in by
:meth:`Engine.on_event`; every output is routed and Avro-encoded; delivered decisions go
back to the simulated visitors, whose outcomes go through :meth:`Engine.on_outcome`;
timers fire and rewards expire each minute. Each output is compared by schema and a
digest of its topic, key and encoded bytes, in order, with the run recorded in
``data/engine_recorded.json`` (recorded on the code before the hot-path work of issue
10, so the optimised decision path must reproduce every decision, signal, learning
record and state byte for byte); so are every visitor's final state and the learned model.

Two modes: the worker's (``learn_inline=False``: the learner service learns) and inline
learning (the bandit and intent model learn as they go, so learned arms, not only the
prior, make the decisions).

To re-record after an intended change of behaviour (say why in the commit):
``RTP_RECORD_ENGINE=1 python -m pytest tests/unit/engine/test_engine_recorded.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from pipeline.decide import DecisionOutcome, assign_arm
from pipeline.engine import Engine, EngineOptions, VisitorState
from pipeline.engine.engine import EventResult
from pipeline.engine.routing import LATE, Output, event_outputs, learning_outputs, timer_outputs
from pipeline.serde import Admitted, Codec, MessageGate
from pipeline.sim import Simulator, SimulatorOptions
from pipeline.topics import EVENTS

RECORDED = Path(__file__).parent / "data" / "engine_recorded.json"
START_MS = 1_800_000_000_000
MINUTES = 6


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:12]


def _run(learn_inline: bool, seed: int) -> dict[str, Any]:
    """One closed-loop run; what it wrote (in order), the final states and the model."""
    codec = Codec.default()
    gate = MessageGate(codec, ("ClickEvent",), worker="test")
    engine = Engine(EngineOptions(), learn_inline=learn_inline)
    share = engine.options.decider.control_share
    sim = Simulator(SimulatorOptions(seed=seed, visitors_per_minute=30,
                                     id_prefix="rec"), arm_of=lambda v: assign_arm(v, share))
    sim.start(START_MS)
    states: dict[str, VisitorState] = {}
    written: list[str] = []
    counts = {"events": 0, "outcomes": 0, "rejected": 0, "late": 0}

    def write(outputs: list[Output]) -> None:
        for out in outputs:
            if out.topic == LATE:
                counts["late"] += 1
                written.append(f"{out.topic}|{out.key}|{out.record['reason']}")
                continue
            data = codec.encode(out.schema, dict(out.record))
            written.append(f"{out.schema}|{_digest(out.topic.encode(), out.key.encode(), data)}")

    def deliver(decision: DecisionOutcome | None) -> None:
        if decision is None:
            return
        eligible = [e["action_id"] for e in decision.log["eligible"]]
        for outcome in sim.receive_decision(decision.decision, decision.decision["created_at"],
                                            eligible):
            react(outcome)

    def fired(visitor: str, timers: list[EventResult]) -> None:
        for timer in timers:
            write(timer_outputs(timer, visitor))
            deliver(timer.decision)

    def react(outcome: dict[str, Any]) -> None:
        counts["outcomes"] += 1
        visitor = str(outcome["visitor_id"])
        result = engine.on_outcome(states.get(visitor), outcome)
        fired(visitor, result.timers)
        write(learning_outputs(result.learning))

    offset = 0
    for minute in range(1, MINUTES + 1):
        now = START_MS + minute * 60_000
        for event in sim.next_events(now):
            counts["events"] += 1
            value = codec.encode("ClickEvent", event, check=True)
            admitted = gate.admit(value, key=event["visitor_id"].encode(), topic=EVENTS,
                                  partition=0, offset=offset, now_ms=now)
            offset += 1
            if not isinstance(admitted, Admitted):
                counts["rejected"] += 1
                written.append(f"rejected|{admitted.reason}")
                continue
            record = admitted.record
            visitor = str(record["visitor_id"])
            result = engine.on_event(states.get(visitor), record)
            if result.state is not None:
                states[visitor] = result.state
            write(event_outputs(result, record))
            for timer in result.timers:
                deliver(timer.decision)
            deliver(result.decision)
        for outcome in sim.take_outcomes():
            react(outcome)
        for visitor in sorted(states):
            state = states[visitor]
            fired(visitor, engine.on_timers(state, now))
            write(learning_outputs(engine.expire(state, now)))
    return {
        "counts": counts,
        "written": written,
        "states": {v: _digest(s.to_bytes()) for v, s in sorted(states.items())},
        # The bandit's bytes; the intent model by its counts (its River pickle is not
        # byte-stable between processes; its predictions are in every DecisionLog).
        "model": [_digest(engine.model.bandit.to_bytes()), engine.model.intent.n_learned,
                  engine.model.intent.n_positive],
        "model_version": engine.model.version,
    }


MODES = {"worker": (False, 5), "inline_learning": (True, 7)}


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    if os.environ.get("RTP_RECORD_ENGINE"):
        RECORDED.write_text(json.dumps({name: _run(*args) for name, args in MODES.items()},
                                       indent=0, sort_keys=True) + "\n")
    data: dict[str, Any] = json.loads(RECORDED.read_text())
    return data


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_engine_reproduces_the_recorded_run(recorded: dict[str, Any], mode: str) -> None:
    expected = recorded[mode]
    actual = _run(*MODES[mode])
    assert actual["counts"] == expected["counts"]
    got, want = actual["written"], expected["written"]
    first = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), None)
    assert first is None, f"output {first} differs: {got[first]} != {want[first]}"
    assert len(got) == len(want), f"{len(got)} outputs written, {len(want)} recorded"
    assert actual["states"] == expected["states"]
    assert (actual["model"], actual["model_version"]) == (expected["model"],
                                                          expected["model_version"])


def test_the_recorded_run_exercises_the_decision_path(recorded: dict[str, Any]) -> None:
    """The stream is not trivial: decisions of several actions, signals, learning, outcomes."""
    for mode in MODES:
        run = recorded[mode]
        schemas = [line.split("|")[0] for line in run["written"] if line.count("|") == 1]
        assert {"DecisionLog", "Decision", "StruggleSignal", "LearningRecord"} <= set(schemas)
        assert schemas.count("DecisionLog") >= 300 and run["counts"]["outcomes"] >= 20
        assert len(run["states"]) >= 100
