"""Minimisation through the collector's HTTP API: what reaches the sink has no query strings
(but utm_*), referrers are origins, traits pass the allow-list only."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.collector.app import CollectorState, build_app
from pipeline.collector.ingest import Ingestor
from pipeline.collector.metrics import CollectorMetrics
from pipeline.collector.minimise import page_url
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
