"""Same-page decisions: requests held for the decision of their trigger event.

First :class:`TriggerWaits` alone, then ``GET /v1/decisions?trigger=…&wait_ms=…`` through
aiohttp's test client with decisions handed over as the feed does (``DeliveryState.receive``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from pipeline.delivery.answers import parse_trigger, parse_wait_ms
from pipeline.delivery.app import DeliveryState, build_app
from pipeline.delivery.errors import BadRequest
from pipeline.delivery.options import DeliveryOptions
from pipeline.delivery.waits import TriggerWaits, WaitResult
from tests.unit.delivery.factories import NOW_MS, decision

# -- TriggerWaits alone ------------------------------------------------------------------------


async def test_a_held_wait_ends_when_its_trigger_arrives_and_not_before() -> None:
    waits = TriggerWaits()
    held = asyncio.ensure_future(waits.wait("e1", timeout_s=10.0))
    await asyncio.sleep(0.01)
    assert waits.held == 1 and not held.done()
    assert waits.arrived({"trigger_event_id": "other"}) == 0  # another trigger: still held
    await asyncio.sleep(0.01)
    assert not held.done()
    assert waits.arrived({"trigger_event_id": "e1"}) == 1
    assert await held == WaitResult.ARRIVED
    assert waits.held == 0


async def test_every_request_held_for_a_trigger_is_released_together() -> None:
    waits = TriggerWaits()
    held = [asyncio.ensure_future(waits.wait("e1", timeout_s=10.0)) for _ in range(3)]
    await asyncio.sleep(0)
    assert waits.arrived({"trigger_event_id": "e1"}) == 3
    assert await asyncio.gather(*held) == [WaitResult.ARRIVED] * 3
    assert waits.held == 0


async def test_a_wait_times_out_after_its_budget_and_no_sooner() -> None:
    waits = TriggerWaits()
    started = time.monotonic()
    assert await waits.wait("e1", timeout_s=0.05) == WaitResult.TIMEOUT
    took = time.monotonic() - started
    assert 0.045 <= took < 1.0
    assert waits.held == 0
    assert await waits.wait("e1", timeout_s=0) == WaitResult.TIMEOUT


async def test_a_trigger_that_arrived_before_the_request_is_answered_at_once() -> None:
    waits = TriggerWaits(remembered=2)
    waits.arrived({"trigger_event_id": "e1"})
    assert await waits.wait("e1", timeout_s=10.0) == WaitResult.SEEN
    waits.arrived({"trigger_event_id": "e2"})
    waits.arrived({"trigger_event_id": "e3"})  # e1 is forgotten (the oldest of three)
    assert not waits.seen("e1") and waits.seen("e3")
    assert await waits.wait("e1", timeout_s=0.01) == WaitResult.TIMEOUT


def test_answers_and_decisions_share_one_bound_oldest_forgotten_first() -> None:
    """Answers ("decided: nothing", most awaited page views) are remembered in the same
    bounded set as decisions: it never holds more than ``remembered`` triggers, whichever
    kind ended them, and a decision's trigger is forgotten only when it is the oldest."""
    waits = TriggerWaits(remembered=3)
    waits.arrived({"visitor_id": "v", "trigger_event_id": "d1"})
    for i in range(2):
        waits.answered({"visitor_id": "v", "trigger_event_id": f"a{i}"})
    assert [waits.seen(t, "v") for t in ("d1", "a0", "a1")] == [True, True, True]
    for i in range(2, 1000):
        waits.answered({"visitor_id": "v", "trigger_event_id": f"a{i}"})
    everything = ["d1", *(f"a{i}" for i in range(1000))]
    assert [t for t in everything if waits.seen(t, "v")] == ["a997", "a998", "a999"]


async def test_beyond_max_held_a_request_is_not_held() -> None:
    waits = TriggerWaits(max_held=2)
    held = [asyncio.ensure_future(waits.wait(f"e{i}", timeout_s=10.0)) for i in range(2)]
    await asyncio.sleep(0)
    assert await waits.wait("e9", timeout_s=10.0) == WaitResult.FULL
    waits.arrived({"trigger_event_id": "e0"})
    assert await held[0] == WaitResult.ARRIVED
    third = asyncio.ensure_future(waits.wait("e9", timeout_s=10.0))  # room again
    await asyncio.sleep(0)
    assert not third.done() and waits.held == 2
    assert waits.release_all() == 2
    assert {await held[1], await third} == {WaitResult.RELEASED}


async def test_a_cancelled_request_is_forgotten() -> None:
    waits = TriggerWaits()
    held = asyncio.ensure_future(waits.wait("e1", timeout_s=10.0))
    await asyncio.sleep(0)
    held.cancel()
    with pytest.raises(asyncio.CancelledError):
        await held
    assert waits.held == 0 and waits.arrived({"trigger_event_id": "e1"}) == 0


async def test_deadlines_sharing_one_timer_each_end_their_own_wait_in_deadline_order() -> None:
    # Budgets mixed and asked out of order (a short budget after long ones re-arms the one
    # timer earlier); one request answered early, one cancelled: every other ends "timeout",
    # in the order of its deadline, and nothing stays held.
    waits = TriggerWaits()
    ended: list[str] = []

    async def held(name: str, budget_s: float) -> WaitResult:
        result = await waits.wait(name, timeout_s=budget_s, visitor="v")
        ended.append(name)
        return result

    budgets = {"long": 0.12, "mid-1": 0.06, "mid-2": 0.06, "early": 0.12, "gone": 0.03,
               "short": 0.02, "long-2": 0.12}
    tasks = {}
    for name, budget in budgets.items():
        tasks[name] = asyncio.ensure_future(held(name, budget))
        await asyncio.sleep(0.001)  # deadlines in the order asked, per budget
    assert waits.held == len(budgets)
    assert waits.arrived({"trigger_event_id": "early", "visitor_id": "v"}) == 1
    tasks["gone"].cancel()
    results = {name: await task for name, task in tasks.items() if name != "gone"}
    assert results == {**{name: WaitResult.TIMEOUT for name in budgets if name != "gone"},
                       "early": WaitResult.ARRIVED}
    assert ended == ["early", "short", "mid-1", "mid-2", "long", "long-2"]
    assert waits.held == 0
    # and the timer goes on for later requests (on this loop and on another)
    assert await waits.wait("later", timeout_s=0.01, visitor="v") == WaitResult.TIMEOUT


def test_the_timer_serves_a_new_event_loop_after_the_first_one_ended() -> None:
    waits = TriggerWaits()
    first = asyncio.run(waits.wait("a", timeout_s=0.01))

    async def abandoned() -> None:  # its loop ends with the timer armed, never fired
        task = asyncio.ensure_future(waits.wait("b", timeout_s=0.005))
        await asyncio.sleep(0)
        task.cancel()

    asyncio.run(abandoned())

    async def later() -> WaitResult:  # a deadline after the dead loop's timer: armed anew
        return await asyncio.wait_for(waits.wait("c", timeout_s=0.05), 10.0)

    assert (first, asyncio.run(later())) == (WaitResult.TIMEOUT, WaitResult.TIMEOUT)
    assert waits.held == 0


def test_a_decision_without_a_trigger_releases_nothing() -> None:
    waits = TriggerWaits()
    assert waits.arrived({"trigger_event_id": ""}) == 0 and waits.arrived({}) == 0
    with pytest.raises(ValueError):
        TriggerWaits(max_held=-1)


# -- query parameters --------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**9 - 1), st.integers(0, 5000), st.integers(0, 5000))
def test_wait_ms_is_the_number_given_cut_to_the_cap(ms: int, default: int, cap: int) -> None:
    assert parse_wait_ms(str(ms), default, cap) == min(ms, cap)
    assert parse_wait_ms(f" {ms} ", default, cap) == min(ms, cap)
    assert parse_wait_ms(None, default, cap) == min(default, cap)


@given(st.text(max_size=30))
def test_wait_ms_is_a_number_or_a_bad_request(text: str) -> None:
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and len(stripped) <= 9:
        assert parse_wait_ms(text, 150, 1000) == min(int(stripped), 1000)
    else:
        with pytest.raises(BadRequest, match="wait_ms"):
            parse_wait_ms(text, 150, 1000)


@given(st.text(max_size=300))
def test_trigger_is_the_stripped_id_or_a_bad_request(text: str) -> None:
    stripped = text.strip()
    if stripped and len(stripped) <= 256:
        assert parse_trigger(text) == stripped
    else:
        with pytest.raises(BadRequest, match="trigger"):
            parse_trigger(text)


async def test_an_answer_of_nothing_ends_only_its_own_visitors_hold_on_that_trigger() -> None:
    waits = TriggerWaits()
    mine = asyncio.ensure_future(waits.wait("e1", timeout_s=30.0, visitor="v1"))
    theirs = asyncio.ensure_future(waits.wait("e1", timeout_s=30.0, visitor="v2"))
    other_trigger = asyncio.ensure_future(waits.wait("e2", timeout_s=30.0, visitor="v1"))
    await asyncio.sleep(0)
    assert waits.answered({"visitor_id": "v1", "trigger_event_id": "e1"}) == 1
    assert await mine == WaitResult.NOTHING
    await asyncio.sleep(0)
    assert not theirs.done() and not other_trigger.done() and waits.held == 2
    # a decision of another visitor with the same trigger id does not end it either
    assert waits.arrived({"visitor_id": "v3", "trigger_event_id": "e1"}) == 0
    assert waits.answered({"visitor_id": "v2", "trigger_event_id": "e1"}) == 1
    assert await theirs == WaitResult.NOTHING
    assert waits.answered({"visitor_id": "v1", "trigger_event_id": "e2"}) == 1
    assert await other_trigger == WaitResult.NOTHING and waits.held == 0


async def test_an_answer_before_the_request_answers_it_at_once_and_a_decision_wins() -> None:
    waits = TriggerWaits()
    waits.answered({"visitor_id": "v1", "trigger_event_id": "e1"})
    assert await waits.wait("e1", timeout_s=30.0, visitor="v1") == WaitResult.NOTHING
    assert await waits.wait("e1", timeout_s=0.01, visitor="v2") == WaitResult.TIMEOUT
    # a decision of the trigger seen before an answer of it is what the trigger is remembered by
    waits.arrived({"visitor_id": "v1", "trigger_event_id": "e5"})
    waits.answered({"visitor_id": "v1", "trigger_event_id": "e5"})
    assert await waits.wait("e5", timeout_s=30.0, visitor="v1") == WaitResult.SEEN


@given(visitor=st.text(min_size=1, max_size=8), other=st.text(min_size=1, max_size=8),
       trigger=st.text(min_size=1, max_size=8))
def test_no_answer_of_another_visitor_is_ever_taken_for_ones_own(visitor: str, other: str,
                                                                 trigger: str) -> None:
    if "\0" in visitor or "\0" in other or visitor == other:
        return  # visitor ids hold no NUL (checked at the API)
    waits = TriggerWaits()
    waits.answered({"visitor_id": other, "trigger_event_id": trigger})
    assert not waits.seen(trigger, visitor) and waits.seen(trigger, other)


# -- the HTTP API ------------------------------------------------------------------------------


@pytest.fixture
async def api() -> AsyncIterator[tuple[TestClient, DeliveryState]]:
    state = DeliveryState.standalone(DeliveryOptions(http_port=0, max_wait_ms=2000, max_held=3),
                                     clock=lambda: NOW_MS / 1000)
    client = TestClient(TestServer(build_app(state)))
    await client.start_server()
    yield client, state
    await client.close()


def ask(client: TestClient, trigger: str | None = "e-v1", wait_ms: int | None = 2000,
        visitor: str = "v1") -> Any:
    params = {"visitor": visitor, "slots": "hero,overlay"}
    if trigger is not None:
        params["trigger"] = trigger
    if wait_ms is not None:
        params["wait_ms"] = str(wait_ms)
    return asyncio.ensure_future(client.get("/v1/decisions", params=params))


async def test_a_request_held_for_its_trigger_answers_with_the_decision_it_waited_for(
        api: tuple[TestClient, DeliveryState]) -> None:
    client, state = api
    pending = ask(client)
    while state.waits.held == 0:  # the request reached the handler and is held
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)
    assert not pending.done()
    hero = decision("v1")  # trigger_event_id "e-v1"
    state.receive([hero])
    r = await pending
    body = await r.json()
    assert r.status == 200 and r.headers["X-RTP-Wait"] == "arrived"
    assert body["decisions"]["hero"]["decision_id"] == hero["decision_id"]
    assert body["decisions"]["overlay"] is None
    assert state.metrics.registry.get_sample_value("rtp_delivery_waits_total",
                                                   {"result": "arrived"}) == 1


async def test_a_decision_of_another_trigger_does_not_end_the_wait(
        api: tuple[TestClient, DeliveryState]) -> None:
    client, state = api
    started = time.monotonic()
    pending = ask(client, trigger="e-mine", wait_ms=300)
    while state.waits.held == 0:
        await asyncio.sleep(0.005)
    older = decision("v1")  # the visitor's decision of an earlier page: not the one awaited
    state.receive([older])
    r = await pending
    assert time.monotonic() - started >= 0.29
    assert r.headers["X-RTP-Wait"] == "timeout"
    # it answers with what it has once the budget is spent
    assert (await r.json())["decisions"]["hero"]["decision_id"] == older["decision_id"]


async def test_when_the_budget_runs_out_the_answer_is_what_is_held(
        api: tuple[TestClient, DeliveryState]) -> None:
    client, _ = api
    started = time.monotonic()
    r = await ask(client, wait_ms=100)
    took = time.monotonic() - started
    assert 0.095 <= took < 1.0
    assert r.status == 200 and r.headers["X-RTP-Wait"] == "timeout"
    assert (await r.json())["decisions"] == {"hero": None, "overlay": None}


async def test_no_wait_ms_holds_for_the_budget_and_a_larger_one_is_capped() -> None:
    state = DeliveryState.standalone(DeliveryOptions(http_port=0, budget_ms=80, max_wait_ms=200))
    async with TestClient(TestServer(build_app(state))) as client:
        for wait_ms, least in ((None, 0.075), (60_000, 0.195)):
            started = time.monotonic()
            r = await ask(client, wait_ms=wait_ms)
            took = time.monotonic() - started
            assert r.headers["X-RTP-Wait"] == "timeout"
            assert least <= took < least + 1.0, (wait_ms, took)


async def test_a_decision_consumed_before_the_request_is_answered_at_once(
        api: tuple[TestClient, DeliveryState]) -> None:
    client, state = api
    hero = decision("v1")
    state.receive([hero])
    started = time.monotonic()
    r = await ask(client)
    assert time.monotonic() - started < 1.0
    assert r.headers["X-RTP-Wait"] == "seen"
    assert (await r.json())["decisions"]["hero"]["decision_id"] == hero["decision_id"]


async def test_a_control_or_no_action_decision_ends_the_wait_with_nothing_to_show(
        api: tuple[TestClient, DeliveryState]) -> None:
    client, state = api
    pending = ask(client)
    while state.waits.held == 0:
        await asyncio.sleep(0.005)
    state.receive([decision("v1", slot="none", action_id="no_action")])
    r = await pending
    assert r.headers["X-RTP-Wait"] == "arrived"
    assert (await r.json())["decisions"] == {"hero": None, "overlay": None}


async def test_when_max_held_requests_are_held_the_next_is_answered_at_once(
        api: tuple[TestClient, DeliveryState]) -> None:
    client, state = api
    held = [ask(client, trigger=f"e{i}") for i in range(3)]
    while state.waits.held < 3:
        await asyncio.sleep(0.005)
    started = time.monotonic()
    r = await ask(client, trigger="e9")
    assert time.monotonic() - started < 1.0
    assert r.status == 200 and r.headers["X-RTP-Wait"] == "full"
    registry = state.metrics.registry
    assert registry.get_sample_value("rtp_delivery_waits_total", {"result": "full"}) == 1
    assert registry.get_sample_value("rtp_delivery_held_requests") == 3
    # (holds are per visitor and trigger: the asking visitor's decisions release them)
    state.receive([decision("v1", decision_id=f"d{i}", slot=f"s{i}") | {"trigger_event_id": f"e{i}"}
                   for i in range(3)])
    assert {r.headers["X-RTP-Wait"] for r in await asyncio.gather(*held)} == {"arrived"}


@pytest.mark.parametrize("query", ["&wait_ms=100", "&trigger=&wait_ms=100",
                                   "&trigger=e1&wait_ms=-5", "&trigger=e1&wait_ms=1.5",
                                   "&trigger=e1&wait_ms=soon", "&trigger=" + "e" * 300])
async def test_bad_trigger_queries_get_400_with_a_message_at_once(
        api: tuple[TestClient, DeliveryState], query: str) -> None:
    client, state = api
    r = await client.get("/v1/decisions?visitor=v1&slots=hero" + query)
    assert r.status == 400
    message = (await r.json())["error"]
    assert "trigger" in message or "wait_ms" in message
    assert state.waits.held == 0


async def test_held_requests_are_answered_when_the_service_stops() -> None:
    state = DeliveryState.standalone(DeliveryOptions(http_port=0, max_wait_ms=30_000))
    client = TestClient(TestServer(build_app(state)))
    await client.start_server()
    pending = ask(client, wait_ms=30_000)
    while state.waits.held == 0:
        await asyncio.sleep(0.005)
    started = time.monotonic()
    closing = asyncio.ensure_future(client.server.close())  # the server only: the client waits
    r = await pending
    assert time.monotonic() - started < 5.0
    assert r.status == 200 and r.headers["X-RTP-Wait"] == "released"
    await closing
    await client.close()


async def test_a_request_for_a_page_view_that_decides_nothing_is_answered_by_the_answer(
        api: tuple[TestClient, DeliveryState]) -> None:
    client, state = api
    pending = ask(client, trigger="e-v1", wait_ms=2000)
    other = ask(client, trigger="e-v1", wait_ms=2000, visitor="v2")
    while state.waits.held < 2:
        await asyncio.sleep(0.005)
    state.receive_answers([{"visitor_id": "v1", "trigger_event_id": "e-v1",
                            "decided": "nothing", "event_time": NOW_MS}])
    r = await pending
    assert r.status == 200 and r.headers["X-RTP-Wait"] == "nothing"
    assert (await r.json())["decisions"] == {"hero": None, "overlay": None}
    assert state.waits.held == 1 and not other.done()  # v2's hold on the same trigger id
    registry = state.metrics.registry
    assert registry.get_sample_value("rtp_delivery_waits_total", {"result": "nothing"}) == 1
    state.receive_answers([{"visitor_id": "v2", "trigger_event_id": "e-v1"}])
    assert (await other).headers["X-RTP-Wait"] == "nothing"
