"""``userHash`` is new HTTP input (the tracker's batch and identify event, Segment's
``context.userHash``): whatever a client puts there, the answer is a 200 (absent: the user id
stays the device's claim; matching: the user id is kept) or a 4xx with a message and nothing
produced — never a 5xx, and never the user id as sent without a matching hash."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.collector.identity import user_hash
from pipeline.profiles import is_claim
from pipeline.serde import Codec
from tests.unit.collector.produced import client_records, is_index_entry
from tests.unit.collector.strategies import NOW_MS
from tests.unit.collector.test_app import IDENTITY, Http, http  # noqa: F401  (fixture)

AUTH = {"Authorization": "Basic " + base64.b64encode(b"wk:").decode()}
USER = "user-42"
GOOD = user_hash(IDENTITY, USER)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(10**20, 10**400)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3), max_leaves=6)
hashes = (json_values | st.just(GOOD) | st.just(GOOD.upper()) | st.just(GOOD[:-1] + "x")
          | st.just(user_hash(IDENTITY, "someone-else")) | st.text("0123456789abcdef", min_size=64,
                                                                    max_size=64))


def _request(where: str, signed: Any) -> tuple[str, dict[str, Any], dict[str, str]]:
    tag = uuid.uuid4().hex[:10]
    if where == "segment":
        return "/v1/identify", {"anonymousId": f"v-{tag}", "userId": USER, "messageId": tag,
                                "context": {"userHash": signed}}, AUTH
    event = {"id": tag, "type": "identify", "time": NOW_MS, "user": USER}
    body: dict[str, Any] = {"writeKey": "wk", "visitor": f"v-{tag}",
                            "page": {"url": "https://shop.example/"}, "events": [event]}
    if where == "event":
        event["userHash"] = signed
    else:  # the batch's user, for the page view and the identify event alike
        body["user"] = USER
        body["userHash"] = signed
        event.pop("user")
        body["events"].insert(0, {"id": f"{tag}-p", "type": "page_view", "time": NOW_MS})
    return "/v1/t", body, {}


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(where=st.sampled_from(["segment", "event", "batch"]), signed=hashes)
def test_any_user_hash_is_a_200_or_a_4xx_with_a_message(http: Http,  # noqa: F811
                                                          where: str, signed: Any) -> None:
    path, body, headers = _request(where, signed)
    before = len(http.sink.produced)
    status, answer, _ = http.post(path, json.dumps(body).encode(), headers)
    produced = http.sink.produced[before:]
    assert status < 500, answer
    matches = isinstance(signed, str) and signed.lower() == GOOD
    if signed not in (None, "") and not matches:
        assert status in (400, 403) and answer["success"] is False and answer["error"], answer
        assert "userHash" in answer["error"] and produced == []
        return
    records = client_records(produced)
    assert status == 200 and len(records) == answer["accepted"] >= 1, answer
    users = {Codec.default().decode(v or b"")[1]["user_id"] for _, _, v in records}
    entries = [Codec.default().decode(v or b"")[1] for _, _, v in produced if is_index_entry(v)]
    # an unsigned user id: one claim index entry, keyed by its pseudonym; a signed one: none
    assert [e["user_id"] for e in entries] == ([] if matches else [USER])  # no keys here
    if matches:
        assert users == {USER}
    else:
        assert len(users) == 1 and is_claim(users.pop())
