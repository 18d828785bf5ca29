"""Query parsing, the decisions answer, and outcome validation (never anything but BadRequest)."""

from __future__ import annotations

import json

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.delivery.answers import MAX_ID_CHARS, decisions_answer, parse_slots, parse_visitor
from pipeline.delivery.errors import BadRequest
from pipeline.delivery.outcomes import OUTCOME_KINDS, parse_outcomes
from pipeline.serde import Codec
from pipeline.web.untrusted import id_problem
from tests.unit.delivery.factories import NOW_MS, decision

CODEC = Codec.default()


def test_outcome_kinds_match_the_schema_enum() -> None:
    schema = CODEC.registry.current("Outcome").schema
    kind = next(f for f in schema["fields"] if f["name"] == "kind")
    assert tuple(kind["type"]["symbols"]) == OUTCOME_KINDS


def test_answer_names_every_requested_slot() -> None:
    held = {"hero": decision()}
    answer = decisions_answer("v1", held, ["hero", "overlay"], NOW_MS)
    assert answer["decisions"]["overlay"] is None
    hero = answer["decisions"]["hero"]
    assert hero["action_id"] == "free_express_shipping"
    assert hero["expires_at"] == NOW_MS + 20 * 60 * 1000
    assert "propensity" not in hero  # model internals stay server-side
    json.dumps(answer)


@pytest.mark.parametrize("raw", [None, "", "   ", "x" * 257])
def test_bad_visitor_parameter(raw: str | None) -> None:
    with pytest.raises(BadRequest, match="visitor"):
        parse_visitor(raw)


def _full_check(raw: str | None) -> str:
    """parse_visitor as it was before its printable-ASCII fast path: id_problem on every id."""
    visitor = (raw or "").strip()
    if not visitor:
        raise BadRequest("query parameter 'visitor' is missing or empty")
    problem = id_problem(visitor, "query parameter 'visitor'", MAX_ID_CHARS)
    if problem is not None:
        raise BadRequest(problem)
    return visitor


IDS = (st.none() | st.text(max_size=300) | st.text(st.characters(max_codepoint=127), max_size=300)
       | st.text(st.sampled_from("v-1 \t\x7f\x00\x1f~\ud800\u00e9"), max_size=20)
       | st.integers(250, 262).map(lambda n: "v" * n))


@settings(max_examples=500, deadline=None)
@given(IDS)
def test_visitor_parameter_fast_path_agrees_with_the_full_check(raw: str | None) -> None:
    try:
        expected = _full_check(raw)
    except BadRequest as exc:
        with pytest.raises(BadRequest) as caught:
            parse_visitor(raw)
        assert str(caught.value) == str(exc)
        return
    assert parse_visitor(raw) == expected


@pytest.mark.parametrize("raw", ["hero,<script>", ",".join(f"s{i}" for i in range(17))])
def test_bad_slots_parameter(raw: str) -> None:
    with pytest.raises(BadRequest):
        parse_slots(raw)


def test_outcomes_list_and_defaults() -> None:
    body = [{"decision_id": "d1", "visitor_id": "v1", "kind": "shown"},
            {"decision_id": "d1", "visitor": "v1", "kind": "converted", "value": 349,
             "event_time": NOW_MS - 5, "outcome_id": "o-9"}]
    out = parse_outcomes(body, NOW_MS, CODEC)
    assert [o["outcome_id"] for o in out] == ["d1:shown", "o-9"]
    assert out[0]["event_time"] == NOW_MS and out[1]["value"] == 349.0
    schema = fastavro.parse_schema(CODEC.registry.current("Outcome").schema)
    assert all(fastavro.validation.validate(o, schema) for o in out)


@pytest.mark.parametrize(("sent", "kept"), [
    ("o-9", "o-9"), ("3F1C2A4E-9B7D", "3F1C2A4E-9B7D"), ("Alice", "d1:shown"),
    ("o-Okonkwo", "d1:shown"), ("Ann Example", "d1:shown"), ("ann@mail.example", "d1:shown")])
def test_a_browsers_outcome_id_is_kept_only_when_a_machine_word(sent: str, kept: str) -> None:
    (out,) = parse_outcomes({"decision_id": "d1", "visitor_id": "v1", "kind": "shown",
                             "outcome_id": sent}, NOW_MS, CODEC)
    assert out["outcome_id"] == kept


@pytest.mark.parametrize("body, message", [
    ({"visitor_id": "v", "kind": "shown"}, "decision_id is missing"),
    ({"decision_id": "d", "visitor_id": 5, "kind": "shown"}, "visitor_id must be"),
    ({"decision_id": "d", "visitor_id": "v", "kind": "shown", "value": -1}, "negative"),
    ({"decision_id": "d", "visitor_id": "v", "kind": "shown", "value": True}, "must be a number"),
    ({"decision_id": "d", "visitor_id": "v", "kind": "shown", "event_time": 1.5}, "epoch"),
    ({"decision_id": "d", "visitor_id": "v", "kind": "shown",
      "event_time": NOW_MS + 3_600_000}, "future"),
    ([], "no outcomes"),
    ("shown", "JSON object"),
])
def test_bad_outcomes_say_why(body: object, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_outcomes(body, NOW_MS, CODEC)


def test_one_bad_item_refuses_the_whole_list() -> None:
    good = {"decision_id": "d", "visitor_id": "v", "kind": "shown"}
    with pytest.raises(BadRequest, match="outcome 1"):
        parse_outcomes([good, {**good, "kind": "meh"}], NOW_MS, CODEC)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=5),
    max_leaves=12)
near_valid = st.fixed_dictionaries({
    "decision_id": st.text(max_size=5) | st.integers(),
    "visitor_id": st.text(max_size=5) | st.none(),
    "kind": st.sampled_from([*OUTCOME_KINDS, "nope", 3]),
}, optional={"value": json_values, "event_time": json_values, "outcome_id": json_values})


@settings(max_examples=200, deadline=None)
@given(json_values | near_valid | st.lists(near_valid, max_size=3))
def test_any_json_is_either_valid_outcomes_or_bad_request(body: object) -> None:
    try:
        out = parse_outcomes(body, NOW_MS, CODEC)
    except BadRequest as exc:
        assert str(exc)
        return
    for record in out:
        CODEC.encode("Outcome", record, check=True)
