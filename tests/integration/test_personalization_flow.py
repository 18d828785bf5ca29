"""The Listen-Think-Act-Learn topology on a real broker, with a real worker process.

One worker serves the whole module under its own topic prefix; each test uses its
own visitor ids.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.client import EventProducer
from pipeline.decide import assign_arm, load_catalog
from pipeline.decide.conditions import ConditionView
from pipeline.engine import EngineOptions
from pipeline.profiles import resolve_pseudonyms
from pipeline.settings import Settings
from pipeline.topics import (
    ACTIONS,
    DECISIONS_LOG,
    EVENTS,
    OUTCOMES,
    PROFILES,
    SIGNALS,
    apply_topics,
    topic_specs,
)
from tests.integration.consent_checks import answer_then_browse, assert_decided_and_kept_only
from tests.integration.scenarios import browser, headphones_shopper, rage_clicker
from tests.integration.topic_watch import TopicWatch
from tests.integration.worker_process import WorkerProcess, wait_caught_up


@pytest.fixture(scope="module")
def flow(kafka: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[Settings, WorkerProcess]]:
    settings = dataclasses.replace(kafka, topic_prefix=f"flow-{uuid.uuid4().hex[:8]}.")
    apply_topics(settings.bootstrap, topic_specs(settings.partitions, 1, settings.topic_prefix))
    tmp = tmp_path_factory.mktemp("worker")
    worker = WorkerProcess(settings, tmp / "data", tmp / "worker.log", sweep_every=2.0)
    try:
        worker.wait_ready()
        yield settings, worker
    finally:
        worker.stop()


def _start() -> int:
    return int(time.time() * 1000) - 15 * 60 * 1000


def _send(settings: Settings, events: list[dict[str, Any]]) -> None:
    with EventProducer(settings) as producer:
        for event in events:
            producer.send_event(event)


def _watch(settings: Settings, topic: str) -> TopicWatch:
    return TopicWatch(settings, settings.topic(topic))


def _personalized(prefix: str, n: int) -> list[str]:
    ids = (f"{prefix}-{i}" for i in range(10_000))
    return [v for v in ids if assign_arm(v) == "personalized"][:n]


def test_headphones_shopper_gets_the_free_express_shipping_banner(
        flow: tuple[Settings, WorkerProcess]) -> None:
    settings, _ = flow
    run = uuid.uuid4().hex[:6]
    shoppers = _personalized(f"hp-{run}", 8)
    _send(settings, [e for v in shoppers for e in headphones_shopper(v, _start())])

    log = _watch(settings, DECISIONS_LOG)
    on_shipping = log.wait_for(
        lambda rs: {r["decision"]["visitor_id"] for r in rs
                    if r["categorical_features"]["page_type"] == "shipping_returns"}
        >= set(shoppers), what="a decision on Shipping & Returns for every shopper")
    # Rules make the banner eligible for every hesitating shopper who viewed the product 3x
    # (on the first decision there; once delivered, its per-session cap removes it).
    for shopper in shoppers:
        first = next(r for r in on_shipping if r["decision"]["visitor_id"] == shopper
                     and r["categorical_features"]["page_type"] == "shipping_returns")
        eligible = {e["action_id"] for e in first["eligible"]}
        assert "free_express_shipping" in eligible or any(
            r["decision"]["action_id"] == "free_express_shipping" for r in on_shipping
            if r["decision"]["visitor_id"] == shopper)

    actions = _watch(settings, ACTIONS)
    banners = actions.wait_for(
        lambda rs: any(r["action_id"] == "free_express_shipping" for r in rs),
        what="a free express shipping decision")
    banner = next(r for r in banners if r["action_id"] == "free_express_shipping")
    assert banner["visitor_id"] in shoppers
    assert banner["ttl_ms"] == 20 * 60 * 1000
    assert "20 minutes" in banner["payload"]["headline"]
    assert 0 < banner["propensity"] <= 1
    log.close()
    actions.close()


def test_rage_clicks_produce_a_struggle_signal(flow: tuple[Settings, WorkerProcess]) -> None:
    settings, _ = flow
    visitor = f"rage-{uuid.uuid4().hex[:6]}"
    _send(settings, rage_clicker(visitor, _start()))
    signals = _watch(settings, SIGNALS)
    found = signals.wait_for(lambda rs: any(r["visitor_id"] == visitor for r in rs),
                             what="a signal for the rage clicker")
    mine = [r for r in found if r["visitor_id"] == visitor]
    assert [r["rule"] for r in mine] == ["rage_click"]
    assert mine[0]["session_id"].startswith(visitor)
    signals.close()


def test_control_group_visitor_gets_no_action_but_is_logged(
        flow: tuple[Settings, WorkerProcess]) -> None:
    settings, worker = flow
    run = uuid.uuid4().hex[:6]
    control = next(v for v in (f"ctl-{run}-{i}" for i in range(1000))
                   if assign_arm(v) == "control")
    _send(settings, browser(control, _start(), pages=4))
    log = _watch(settings, DECISIONS_LOG)
    mine = log.wait_for(
        lambda rs: sum(r["decision"]["visitor_id"] == control for r in rs) >= 4,
        what="four decisions logged for the control visitor")
    mine = [r for r in mine if r["decision"]["visitor_id"] == control]
    assert {r["decision"]["experiment_arm"] for r in mine} == {"control"}
    assert not any(r["served"] for r in mine)
    wait_caught_up(worker, [settings.topic(EVENTS)])
    actions = _watch(settings, ACTIONS)
    actions.poll(1.0)
    assert not [r for r in actions.records() if r["visitor_id"] == control]
    log.close()
    actions.close()


def _profile(settings: Settings, update: dict[str, Any]) -> None:
    with EventProducer(settings) as producer:
        producer.send_profile_update(update)


def test_opted_out_visitor_gets_nothing_and_no_state(
        flow: tuple[Settings, WorkerProcess]) -> None:
    settings, worker = flow
    visitor = _personalized(f"optout-{uuid.uuid4().hex[:6]}", 1)[0]
    now = int(time.time() * 1000)
    _profile(settings, {"update_id": f"{visitor}-c", "kind": "consent", "visitor_id": visitor,
                        "user_id": None, "event_time": now, "traits": {},
                        "consent": {"personalization": False, "analytics": False}})
    views = TopicWatch(settings, worker.changelog("visitor-profiles"), decode=False)
    views.wait_for(lambda _: any(k == visitor.encode() for k, _ in views.seen),
                   what="the opt-out reaching the visitor side")
    _send(settings, headphones_shopper(visitor, _start()))
    wait_caught_up(worker, [settings.topic(EVENTS)])

    log = _watch(settings, DECISIONS_LOG)
    log.poll(1.0)
    assert not [r for r in log.records() if r["decision"]["visitor_id"] == visitor]
    state = TopicWatch(settings, worker.changelog("visitors"), decode=False)
    state.poll(1.0)
    assert not [v for k, v in state.seen if k == visitor.encode() and v is not None]
    for watch in (views, log, state):
        watch.close()


def test_erasure_removes_the_visitors_table_entries(
        flow: tuple[Settings, WorkerProcess]) -> None:
    settings, worker = flow
    visitor = _personalized(f"erase-{uuid.uuid4().hex[:6]}", 1)[0]
    user = f"user-{visitor}"
    now = int(time.time() * 1000)
    _send(settings, browser(visitor, _start(), pages=2))
    _profile(settings, {"update_id": f"{visitor}-i", "kind": "identify", "visitor_id": visitor,
                        "user_id": user, "event_time": now, "traits": {"loyalty_tier": "gold"},
                        "consent": None})
    state = TopicWatch(settings, worker.changelog("visitors"), decode=False)
    state.wait_for(lambda _: any(k == visitor.encode() and v for k, v in state.seen),
                   what="the visitor's state in the table")
    views = TopicWatch(settings, worker.changelog("visitor-profiles"), decode=False)
    views.wait_for(lambda _: any(k == visitor.encode() and v for k, v in views.seen),
                   what="the identified profile reaching the visitor")

    _profile(settings, {"update_id": f"{visitor}-e", "kind": "erasure", "visitor_id": visitor,
                        "user_id": user, "event_time": now + 1, "traits": {}, "consent": None})

    def erased(watch: TopicWatch, key: bytes) -> bool:
        mine = [v for k, v in watch.seen if k == key]
        return bool(mine) and mine[-1] is None  # the latest record is a tombstone

    state.wait_for(lambda _: erased(state, visitor.encode()), what="a visitors tombstone")
    views.wait_for(lambda _: erased(views, visitor.encode()), what="a profile view tombstone")
    people = TopicWatch(settings, worker.changelog("profiles"), decode=False)
    person = resolve_pseudonyms(settings).of(user).encode()  # how the SDK keyed the profile
    people.wait_for(lambda _: erased(people, person), what="a profiles tombstone")
    updates = TopicWatch(settings, settings.topic(PROFILES), decode=False)
    updates.wait_for(lambda _: erased(updates, person),
                     what="a tombstone on the compacted profiles topic")
    for watch in (state, views, people, updates):
        watch.close()


def test_a_dismissed_action_is_not_shown_again_in_the_session(
        flow: tuple[Settings, WorkerProcess]) -> None:
    settings, worker = flow
    visitor = _personalized(f"dismiss-{uuid.uuid4().hex[:6]}", 1)[0]
    start = _start()
    events = browser(visitor, start, pages=20)
    actions = _watch(settings, ACTIONS)
    log = _watch(settings, DECISIONS_LOG)
    sent = 0
    # Page by page until something is shown (the bandit may choose "no action" a few times).
    while not any(r["visitor_id"] == visitor for r in actions.records()):
        assert sent < 8, "nothing was shown to the visitor in 8 page views"
        _send(settings, [events[sent]])
        sent += 1
        log.wait_for(lambda rs, n=sent: sum(r["decision"]["visitor_id"] == visitor
                                            for r in rs) >= n, what=f"decision {sent}")
        wait_caught_up(worker, [settings.topic(EVENTS)])
        actions.poll(0.5)
    shown = next(r for r in actions.records() if r["visitor_id"] == visitor)
    with EventProducer(settings) as producer:
        producer.send_outcome({"outcome_id": f"{visitor}-o", "decision_id": shown["decision_id"],
                               "visitor_id": visitor, "kind": "dismissed", "value": 0.0,
                               "event_time": events[sent - 1]["event_time"] + 1})
    wait_caught_up(worker, [settings.topic(OUTCOMES), settings.topic(EVENTS)])
    _send(settings, events[sent:])
    later = log.wait_for(
        lambda rs: sum(r["decision"]["visitor_id"] == visitor for r in rs) >= len(events),
        what="a decision for every page view")
    after = [r for r in later if r["decision"]["visitor_id"] == visitor
             and r["decision"]["created_at"] > events[sent - 1]["event_time"]]
    assert after
    for record in after:
        assert record["decision"]["action_id"] != shown["action_id"]
        eligible = {e["action_id"] for e in record["eligible"]}
        assert shown["action_id"] not in eligible
        # Where its rule proposes it (the logged context says so: the catalog's own rule on
        # it), a guardrail removed it: the dismissal, unless its per-session cap already
        # applies. Elsewhere (another page type or intent class) it is not a candidate at all.
        action = load_catalog(EngineOptions().catalog_path)[shown["action_id"]]
        view = ConditionView(record["numeric_features"], record["categorical_features"],
                             intent_probability=record["intent_probability"],
                             intent_class=record["intent_class"])
        if not action.applies_to(view):
            continue
        cap = action.caps.per_session
        reason = ("frequency_cap" if cap is not None and cap <= 1 else "dismissed_this_session")
        assert f"{reason}:{shown['action_id']}" in record["guardrails_fired"]
    actions.close()
    log.close()


def test_expired_visitor_state_is_deleted_by_the_sweep(
        flow: tuple[Settings, WorkerProcess]) -> None:
    settings, worker = flow
    visitor = _personalized(f"ttl-{uuid.uuid4().hex[:6]}", 1)[0]
    three_hours_ago = int(time.time() * 1000) - 3 * 3600 * 1000  # past the 2 h state TTL
    _send(settings, browser(visitor, three_hours_ago, pages=2))
    state = TopicWatch(settings, worker.changelog("visitors"), decode=False)
    state.wait_for(lambda _: any(k == visitor.encode() and v for k, v in state.seen),
                   what="the visitor's state written")
    state.wait_for(lambda _: [v for k, v in state.seen if k == visitor.encode()][-1] is None,
                   what="the expired state deleted (a tombstone) by the periodic sweep")
    state.close()


def test_rtp_ready_reports_a_caught_up_worker(flow: tuple[Settings, WorkerProcess]) -> None:
    from pipeline.cli import main

    settings, worker = flow
    wait_caught_up(worker, [settings.topic(EVENTS)])
    common = ["--bootstrap", settings.bootstrap, "--topic-prefix", settings.topic_prefix]
    assert main([*common, "ready", "--max-lag", "1000"]) == 0
    assert main([*common, "ready", "--client-id", "no-such-pod"]) == 1
    assert main([*common, "ready", "--app-id", "no-such-app"]) == 1



def test_an_opt_out_sent_with_page_views_stops_their_decisions(
        flow: tuple[Settings, WorkerProcess]) -> None:
    """Issue 12: an opt-out sent in the same moment as four page views still produced four
    DecisionLog records and a state (the opt-out reached the worker only through the
    profile side, seconds later). The worker now takes consent from profiles.updates."""
    settings, worker = flow
    run = uuid.uuid4().hex[:6]
    leaving, staying = f"leave-{run}", f"stay-{run}"
    now = int(time.time() * 1000)
    answer_then_browse(settings, worker, leaving, False, staying, now)
    assert_decided_and_kept_only(settings, worker, staying, leaving, now)
