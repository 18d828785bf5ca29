"""Minimisation through the collector's HTTP API: what reaches the sink has no query strings
(but utm_*), referrers are origins, traits pass the allow-list only."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.collector.app import CollectorState, build_app
from pipeline.collector.ingest import Ingestor
from pipeline.collector.metrics import CollectorMetrics
from pipeline.collector.minimise import opaque, page_url, reduce_search, scrub_emails
from pipeline.collector.options import CollectorOptions
from pipeline.serde import Codec
from tests.unit.collector.strategies import NOW_MS
from tests.unit.collector.test_app import FakeSink

AUTH = {"Authorization": "Basic " + base64.b64encode(b"wk:").decode()}
EMAIL, NAME = "ann.example@mail.example", "Ann Example"
CODEC = Codec.default()


def produce(path: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    sink = FakeSink()
    options = CollectorOptions(write_keys=frozenset({"wk"}))
    state = CollectorState(Ingestor(options, CODEC, wall=lambda: NOW_MS / 1000), sink, str,
                           CollectorMetrics.create())

    async def go() -> None:
        async with TestClient(TestServer(build_app(state))) as client:
            r = await client.post(path, data=json.dumps(body), headers=AUTH)
            assert r.status == 200, await r.text()

    asyncio.run(go())
    return [CODEC.decode(value) for _, _, value in sink.produced]  # type: ignore[misc]


def test_page_urls_keep_only_utm_parameters_and_referrers_their_origin() -> None:
    url = f"https://shop.example/p/nc700?utm_campaign=spring&email={EMAIL}&name={NAME}#{NAME}"
    body = {"writeKey": "wk", "visitor": "v1",
            "page": {"url": url, "referrer": f"https://mail.example/u/{NAME}?to={EMAIL}"},
            "context": {"landing": url},
            "events": [{"id": "e1", "type": "page_view", "time": NOW_MS}]}
    ((name, event),) = produce("/v1/t", body)
    assert name == "ClickEvent"
    assert event["page"]["url"] == "https://shop.example/p/nc700?utm_campaign=spring"
    assert event["page"]["referrer"] == "https://mail.example/"
    assert event["page"]["page_type"] == "product" and event["context"]["campaign"] == "spring"
    assert EMAIL not in json.dumps(event) and NAME not in json.dumps(event)


def test_segment_pages_are_minimised_too() -> None:
    call = {"type": "page", "anonymousId": "v1",
            "properties": {"url": f"https://shop.example/search?q={NAME}&utm_medium=cpc",
                           "referrer": f"https://www.google.com/search?q={EMAIL}"}}
    ((_, event),) = produce("/v1/page", call)
    assert event["page"]["url"] == "https://shop.example/search?utm_medium=cpc"
    assert event["page"]["referrer"] == "https://www.google.com/"
    assert event["context"]["traffic_source"] == "ads"  # computed before the query went
    assert event["page"]["page_type"] == "search"


def test_traits_pass_an_allow_list_not_a_deny_list() -> None:
    traits = {"loyalty_tier": "gold", "plan": "pro", "nickname": NAME, "addr2": "Main St 1",
              "birth": "1990-01-01", "favourite": "jazz", "industry": EMAIL}
    records = produce("/v1/identify", {"anonymousId": "v1", "traits": traits})
    ((name, update),) = records
    assert name == "ProfileUpdate"
    assert update["traits"] == {"loyalty_tier": "gold", "plan": "pro"}
    native = produce("/v1/t", {"writeKey": "wk", "visitor": "v1", "events": [
        {"id": "i1", "type": "identify", "time": NOW_MS, "traits": traits}]})
    assert native[0][1]["traits"] == {"loyalty_tier": "gold", "plan": "pro"}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)),
                                      max_size=4))
def test_only_utm_parameters_survive_in_any_url(path: str, params: list[tuple[str, str]]
                                                ) -> None:
    from urllib.parse import parse_qsl, urlencode, urlsplit
    url = "https://s.example/" + path.replace("?", "").replace("#", "") + "?" + urlencode(params)
    kept = parse_qsl(urlsplit(page_url(url)).query, keep_blank_values=True)
    assert kept == [(k, v) for k, v in params if k.startswith("utm_")]
    assert "#" not in page_url(url + "#frag")


_LOCAL = st.text("abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=20).filter(
    lambda t: t[0] not in "._+-" and t[-1] not in "._+-")
_DOMAIN = st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10),
                   min_size=1, max_size=3).map(".".join)
_TLD = st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=6)
EMAILS = st.builds(lambda local, domain, tld, at: f"{local}{at}{domain}.{tld}",
                   _LOCAL, _DOMAIN, _TLD, st.sampled_from(["@", "%40"]))
#: Text around an address: anything but the characters an address is made of, and a space
#: between (a letter right before the address would be part of its local part).
AROUND = st.text(st.characters(blacklist_categories=["Cs"],
                               blacklist_characters="@%._+-'"), max_size=20)


@settings(max_examples=300, deadline=None)
@given(EMAILS, AROUND, AROUND, st.booleans())
def test_an_email_anywhere_in_a_text_is_replaced(email: str, before: str, after: str,
                                                 ids: bool) -> None:
    """Whatever surrounds it, the address is replaced and nothing else changes; in ids by a
    keyed token of the address (the same for any spelling of it)."""
    out = scrub_emails(f"{before} {email} {after}", ids=ids)
    token = scrub_emails(email, ids=True)
    assert token == scrub_emails(email.replace("%40", "@").upper(), ids=True)
    assert re.fullmatch(r"e\.[0-9a-f]{16}", token)
    assert out == f"{before} {'[email]' if not ids else token} {after}"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_search_tokens_match_exactly_when_the_normalised_words_do(a: str, b: str) -> None:
    same = " ".join(a.lower().split()) == " ".join(b.lower().split())
    assert (reduce_search(a) == reduce_search(b)) is same
    assert reduce_search(a) == "" or re.fullmatch(r"q\.[0-9a-f]{16}:\d+", reduce_search(a))


def test_the_collector_keeps_no_search_text_no_unlisted_property_and_no_email() -> None:
    body = {"writeKey": "wk", "visitor": EMAIL, "session": f"s-{EMAIL}",
            "page": {"url": f"https://shop.example/u/{EMAIL}/?q={EMAIL}", "category": EMAIL},
            "context": {"timezone": NAME, "sector": "ecommerce"},
            "events": [
                {"id": "e1", "type": "search", "time": NOW_MS, "query": f"{NAME} shoes"},
                {"id": "e2", "type": "custom", "time": NOW_MS, "name": "listing_refresh",
                 "props": {"listing": f"for {EMAIL}", "nickname": NAME}},
                {"id": "e3", "type": "purchase", "time": NOW_MS, "order": "o1", "value": 5,
                 "kind": NAME}]}
    produced = produce("/v1/t", body)
    raw = json.dumps([r for _, r in produced])
    assert EMAIL not in raw and NAME not in raw
    search, custom, purchase = (r for _, r in produced)
    assert search["search"]["query"] == reduce_search(f"{NAME} shoes")
    # e-mail replaced, then the value (not one word) reduced to its keyed token
    assert custom["custom"]["properties"] == {"listing": opaque("for [email]")}
    assert purchase["purchase"]["kind"] == "purchase"
    assert search["context"]["timezone"] is None
    assert search["visitor_id"] == scrub_emails(EMAIL, ids=True)
    assert search["page"]["url"] == "https://shop.example/u/[email]/"
    assert search["page"]["category"] == "[email]"
