"""The engine's step, without Kafka: a list in, the engine, a list out."""

from __future__ import annotations

from typing import Any

from pipeline.client.samples import click_event
from pipeline.engine import Engine, EngineOptions, VisitorState
from pipeline.engine.routing import LATE, event_outputs
from pipeline.profiles import ProfileView
from pipeline.topics import ACTIONS, DECISIONS_LOG

T0 = 1_800_000_000_000


def _page(visitor: str, t: int, **kw: Any) -> dict[str, Any]:
    return click_event(visitor, "page_view", t, event_id=f"{visitor}-{t}", **kw)


def _run(engine: Engine, events: list[dict[str, Any]]) -> tuple[VisitorState | None, list[Any]]:
    state: VisitorState | None = None
    results = []
    for event in events:
        result = engine.on_event(state, event)
        state = result.state
        results.append(result)
    return state, results


def test_an_event_later_than_the_allowed_lateness_is_refused_and_changes_nothing() -> None:
    engine = Engine(EngineOptions())
    state, _ = _run(engine, [_page("v", T0), _page("v", T0 + 600_000)])
    assert state is not None
    before = state.to_bytes()
    late = engine.on_event(state, _page("v", T0 + 1_000))  # 10 min earlier than the last
    assert late.late_reason
    assert [o.topic for o in event_outputs(late, _page("v", T0 + 1_000))] == [LATE]
    assert late.state is not None and late.state.to_bytes() == before


def test_a_redelivered_event_is_a_duplicate_without_outputs() -> None:
    engine = Engine(EngineOptions())
    event = _page("v", T0)
    state, _ = _run(engine, [event])
    again = engine.on_event(state, event)
    assert again.duplicate and again.decision is None and not again.signals


def test_opted_out_visitors_get_no_state_and_no_decision() -> None:
    engine = Engine(EngineOptions())
    result = engine.on_event(None, _page("v", T0), ProfileView(personalization_allowed=False))
    assert result.state is None and result.decision is None and not result.signals


def test_decisions_are_routed_by_arm_and_ids_are_deterministic() -> None:
    first = Engine(EngineOptions()).on_event(None, _page("v", T0, page_type="home",
                                                         product_id=None))
    second = Engine(EngineOptions()).on_event(None, _page("v", T0, page_type="home",
                                                          product_id=None))
    assert first.decision is not None and second.decision is not None
    assert first.decision.decision_id == second.decision.decision_id
    topics = [o.topic for o in event_outputs(first, _page("v", T0))]
    assert DECISIONS_LOG in topics
    assert (ACTIONS in topics) == first.decision.deliver


def test_a_purchase_rewards_the_last_shown_action_only() -> None:
    engine = Engine(EngineOptions())
    state, results = _run(engine, [_page("buyer", T0 + i * 20_000) for i in range(6)])
    served = [r.decision for r in results if r.decision is not None and r.decision.served]
    assert served and state is not None and state.pending is not None
    shown = [d for d in served if d.decision["action_id"] != "no_action"]
    assert len(shown) >= 2  # seeded: several actions shown, so "last" is a real choice
    purchase = click_event("buyer", "purchase", T0 + 200_000, event_id="buy-1",
                           purchase={"order_id": "o1", "value": 99.0, "currency": "EUR",
                                     "kind": "purchase"})
    bought = engine.on_event(state, purchase)
    credited_ids = set()
    for decision in shown:
        pending = state.pending.get(decision.decision_id)
        assert pending is not None
        if "converted" in pending.kinds:
            credited_ids.add(decision.decision_id)
    # One purchase, one credit: the most recent decision that showed something (last
    # touch), never a no_action decision even when it came after.
    assert credited_ids == {shown[-1].decision_id}
    # The same credit, as a learning record (nothing more, nothing less), then the label.
    rewards = [r["reward"] for r in bought.learning if r["reward"] is not None]
    assert {r["decision_id"] for r in rewards} == credited_ids
    assert all(r["reason"] == "converted" for r in rewards)
    labels = [r["label"] for r in bought.learning if r["label"] is not None]
    assert [(lab["session_id"], lab["converted"]) for lab in labels] == [
        (state.session.session_id, True)]


def test_a_no_action_decision_is_learned_when_made_and_a_reported_conversion_corrects_it(
) -> None:
    engine = Engine(EngineOptions())
    state, results = _run(engine, [_page("quiet", T0 + i * 20_000) for i in range(6)])
    nothing = [r for r in results if r.decision is not None and r.decision.served
               and r.decision.decision["action_id"] == "no_action"]
    assert nothing and state is not None and state.pending is not None  # seeded
    for result in nothing:
        decision_id = result.decision.decision_id  # type: ignore[union-attr]
        # Nothing rendered, no "shown" outcome to wait for: one observation, reward 0, now.
        rewards = [r["reward"] for r in result.learning if r["reward"] is not None]
        assert [(r["decision_id"], r["reason"], r["reward"], r["new_observation"])
                for r in rewards] == [(decision_id, "shown", 0.0, True)]
        pending = state.pending.get(decision_id)
        assert pending is not None and pending.observed  # still open for a reported outcome
    first = nothing[0].decision.decision_id  # type: ignore[union-attr]
    converted = engine.on_outcome(state, {"outcome_id": "c", "decision_id": first,
                                          "visitor_id": "quiet", "kind": "converted",
                                          "value": 5.0, "event_time": T0 + 150_000})
    assert [(r["reward"]["reason"], r["reward"]["reward"], r["reward"]["new_observation"])
            for r in converted.learning] == [("converted", 1.0, False)]


def test_a_dismissal_reaches_the_history_and_expired_states_are_swept() -> None:
    engine = Engine(EngineOptions())
    state, results = _run(engine, [_page("d", T0 + i * 20_000) for i in range(8)])
    delivered = [r.decision for r in results if r.decision is not None and r.decision.deliver]
    assert state is not None and delivered  # seeded: something is shown on these pages
    d = delivered[0].decision
    after = engine.on_outcome(state, {"outcome_id": "o", "decision_id": d["decision_id"],
                                      "visitor_id": "d", "kind": "dismissed", "value": 0.0,
                                      "event_time": T0 + 200_000})
    assert after.state is not None
    assert d["action_id"] in after.state.history.dismissed_session
    assert not engine.sweep(state, T0 + 200_000).delete
    assert engine.sweep(state, T0 + 3 * 3_600_000).delete


def _first_shown(results: list[Any]) -> dict[str, Any]:
    return next(r.decision.decision for r in results if r.decision is not None
                and r.decision.served and r.decision.decision["action_id"] != "no_action")


def test_a_worker_engine_emits_learning_records_and_learns_nothing_itself() -> None:
    worker = Engine(EngineOptions(), learn_inline=False)
    inline = Engine(EngineOptions())
    events = [_page("w", T0 + i * 20_000) for i in range(6)]
    worker_state, worker_results = _run(worker, events)
    # The inline engine learns each "no action" decision when it is made, so its later
    # choices may differ from the worker's: each is clicked on its own first shown action.
    inline_state, inline_results = _run(inline, events)
    assert worker_state is not None and worker_state.pending and inline_state is not None
    d = _first_shown(worker_results)
    outcome = {"outcome_id": "o", "decision_id": d["decision_id"], "visitor_id": "w",
               "kind": "clicked", "value": 0.0, "event_time": T0 + 130_000}
    emitted = worker.on_outcome(worker_state, outcome).learning
    assert [(r["reward"]["decision_id"], r["reward"]["reason"], r["reward"]["reward"])
            for r in emitted] == [(d["decision_id"], "clicked", 1.0)]
    assert worker.model.version == 0  # the learner service learns, not the worker
    mine = _first_shown(inline_results)
    before = inline.model.version
    inline.on_outcome(inline_state, {**outcome, "decision_id": mine["decision_id"]})
    assert inline.model.version == before + 1
    # The inline engine learned the one record a worker emits for it: one observation.
    assert inline.model.bandit.observations(mine["action_id"]) == 1


def test_the_session_label_is_emitted_once_when_the_session_ends() -> None:
    engine = Engine(EngineOptions(), learn_inline=False)
    state, results = _run(engine, [_page("s", T0 + i * 20_000) for i in range(3)])
    assert state is not None and state.label is not None
    session_id = state.session.session_id
    assert not any(r["label"] for res in results for r in res.learning)
    # 31 minutes later: a new session; the old one's label goes out (not converted).
    after = engine.on_event(state, _page("s", T0 + 40 * 60_000 + 60_000))
    labels = [r["label"] for r in after.learning if r["label"] is not None]
    assert [(lab["session_id"], lab["converted"]) for lab in labels] == [(session_id, False)]
    assert after.state is not None and after.state.label is not None
    assert after.state.label.session_id != session_id
    # The sweep, once the state outlived its TTL, labels the current session: once.
    swept = engine.sweep(after.state, T0 + 5 * 3_600_000)
    assert swept.delete
    assert [r["label"]["session_id"] for r in swept.learning] == [after.state.session.session_id]
    assert engine.sweep(after.state, T0 + 6 * 3_600_000).learning == []


def test_a_closed_decision_stored_and_reloaded_is_not_awaited_again() -> None:
    engine = Engine(EngineOptions())
    state, results = _run(engine, [_page("closer", T0)])
    served = [r.decision for r in results if r.decision is not None and r.decision.served]
    assert len(served) == 1 and state is not None and state.pending is not None
    decision = served[0]
    # The reward wait passes: the decision closes (its reward is learned), nothing pending.
    engine.expire(state, T0 + 10**9)
    assert len(state.pending) == 0 and state.pending.closed_ids() == [decision.decision_id]
    # The worker stores the state and restarts: the decision arrives again (a replay).
    restored = VisitorState.from_bytes(state.to_bytes(), engine.visitor_rewards)
    pending = restored.rewards(engine.visitor_rewards)
    assert pending.closed_ids() == [decision.decision_id]
    assert pending.register(decision.decision, decision.context_vector) == []
    assert decision.decision_id not in pending and len(pending) == 0
    assert engine.expire(restored, T0 + 2 * 10**9) == []  # never rewarded a second time
