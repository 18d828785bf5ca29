"""GET /v1/privacy/export without a broker: who is answered, and with what."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from pipeline.delivery.app import DeliveryState, build_app
from pipeline.delivery.errors import FeedError
from pipeline.delivery.export import PersonRecords
from pipeline.delivery.options import DeliveryOptions
from pipeline.web.visitor_token import VisitorTokens
from tests.unit.delivery.factories import NOW_MS, decision

ADMIN = "admin-key-0123456789abcdef"
TOKENS = VisitorTokens(("export-key-0123456789",), clock=lambda: NOW_MS / 1000)


def state_with(person: Any) -> DeliveryState:
    state = DeliveryState.standalone(DeliveryOptions(http_port=0, admin_token=ADMIN),
                                     clock=lambda: NOW_MS / 1000)
    state.tokens = TOKENS
    state.person = person
    return state


async def ask(state: DeliveryState, params: dict[str, str],
              headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with TestClient(TestServer(build_app(state))) as client:
        r = await client.get("/v1/privacy/export", params=params, headers=headers or {})
        return r.status, await r.json()


async def test_the_visitor_gets_its_own_records_and_the_admin_any_visitors() -> None:
    asked: list[str] = []

    def person(visitor: str) -> PersonRecords:
        asked.append(visitor)
        return PersonRecords(decisions=(decision(visitor, created_at=NOW_MS),))

    state = state_with(person)
    state.receive([decision("v1", created_at=NOW_MS)])  # delivery holds v1's decision
    status, body = await ask(state, {"token": TOKENS.issue("v1")})
    admin_status, other = await ask(state, {"visitor": "v2"}, {"Authorization": f"Bearer {ADMIN}"})
    assert (status, admin_status) == (200, 200) and asked == ["v1", "v2"]
    assert body["visitor_id"] == "v1" and [d["held_by_delivery"] for d in body["decisions"]] == [
        True]
    assert other["visitor_id"] == "v2" and [d["held_by_delivery"] for d in other["decisions"]] == [
        False]


async def test_refusals_say_why() -> None:
    state = state_with(lambda visitor: PersonRecords())
    cases = {
        "no token": ({}, {}),
        "other visitor": ({"token": TOKENS.issue("v1"), "visitor": "v2"}, {}),
        "wrong admin key": ({"visitor": "v2"}, {"Authorization": "Bearer guess"}),
        "admin key, no visitor": ({}, {"Authorization": f"Bearer {ADMIN}"}),
    }
    answers = {name: await ask(state, *case) for name, case in cases.items()}
    assert {name: status for name, (status, _) in answers.items()} == {
        "no token": 401, "other visitor": 403, "wrong admin key": 401,
        "admin key, no visitor": 400}
    assert all(body["error"] for _, body in answers.values())


async def test_without_a_reader_or_a_broker_an_export_is_503_and_one_runs_at_a_time() -> None:
    own = {"token": TOKENS.issue("v1")}
    assert (await ask(state_with(None), own))[0] == 503

    def broken(visitor: str) -> PersonRecords:
        raise FeedError("broker down")

    status, body = await ask(state_with(broken), own)
    assert status == 503 and "retry" in body["error"]
    busy = state_with(lambda visitor: PersonRecords())
    async with busy.exporting:
        status, body = await ask(busy, own)
    assert status == 429 and body["error"]


def test_the_export_reads_the_profile_sides_changelog_by_its_real_name() -> None:
    """The people changelog the export reads is the one Faust writes for the profile side
    of that worker group (its app id, table ``profiles``), as the worker tests find it."""
    from pipeline.delivery.person import people_changelog
    from topologies.profiles import profile_app_id

    assert people_changelog("g-1") == f"{profile_app_id('g-1')}-profiles-changelog"
    assert people_changelog("rtp-personalize") == \
        "rtp-personalize-profiles-profiles-changelog"


async def test_exports_are_rate_limited_per_address_before_the_key_is_checked() -> None:
    """Guesses of the admin key or of tokens count against the address: after its burst
    even the right admin key gets 429 with Retry-After and a message."""
    from pipeline.web.rate_limits import RequestLimits

    state = state_with(lambda visitor: PersonRecords())
    app = build_app(state)  # (it sets the options' limits: replaced by tight ones)
    state.limits = RequestLimits(1.0, 2, visitor_rate_per_s=100.0, visitor_burst=100,
                                 monotonic=lambda: 0.0)
    async with TestClient(TestServer(app)) as client:
        statuses = []
        for key in ("guess-1", "guess-2", ADMIN):
            r = await client.get("/v1/privacy/export", params={"visitor": "v1"},
                                 headers={"Authorization": f"Bearer {key}"})
            statuses.append(r.status)
        assert statuses == [401, 401, 429]
        assert r.headers["Retry-After"] and "too many requests" in (await r.json())["error"]
