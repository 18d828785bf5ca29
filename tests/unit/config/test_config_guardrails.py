"""Guardrails and compliance zones in the config file: a list of zone sections, each
field checked with its line; they reach the decider's options and switch live with the
rest (a published config carries them)."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import ConfigError, decode_config, encode_config, engine_options
from pipeline.config import load_config_text as load
from pipeline.decide import ComplianceZone, GuardrailOptions
from pipeline.engine import EngineOptions


def test_zones_and_caps_reach_the_deciders_options() -> None:
    config = load("guardrails:\n  max_actions_per_session: 2\n  compliance_blocks_all: true\n"
                  "  compliance_zones:\n    - name: gambling\n      sectors: [casino]\n"
                  "      page_types: [lobby, cashier]\n", env={})
    assert engine_options(config).decider.guardrails == GuardrailOptions(
        compliance_zones=(ComplianceZone("gambling", sectors=frozenset({"casino"}),
                                         page_types=frozenset({"lobby", "cashier"})),),
        compliance_blocks_all=True, max_actions_per_session=2)
    # Not given: the engine's defaults, unchanged.
    assert engine_options(load("", env={})).decider.guardrails == EngineOptions().decider.guardrails


def test_an_empty_list_removes_every_zone() -> None:
    assert load("guardrails:\n  compliance_zones: []\n", env={}).guardrails.compliance_zones == ()


@pytest.mark.parametrize("text, problems", [
    ("guardrails:\n  compliance_zones:\n    - sectors: [finance]\n",
     ["line 3: field guardrails.compliance_zones.0.name: missing"]),
    ("guardrails:\n  compliance_zones:\n    - name: a\n    - name: b\n      sector: [x]\n",
     ["line 5: field guardrails.compliance_zones.1.sector: unknown field "
      "(known: name, sectors, page_types, categories)"]),
    ("guardrails:\n  compliance_zones:\n    - name: a\n      categories: wine\n",
     ["line 4: field guardrails.compliance_zones.0.categories: must be a list of names"]),
    ("guardrails:\n  compliance_zones: {name: a}\n",
     ["line 2: field guardrails.compliance_zones: must be a list of sections"]),
    ("guardrails:\n  compliance_zones:\n    - finance\n",
     ["line 3: field guardrails.compliance_zones.0: must be a section (a mapping of fields)"]),
    ("guardrails:\n  max_actions_per_session: lots\n",
     ["line 2: field guardrails.max_actions_per_session: must be a whole number (got 'lots')"]),
])
def test_each_guardrail_problem_names_its_field_and_line(text: str, problems: list[str]) -> None:
    with pytest.raises(ConfigError) as refused:
        load(text, env={})
    assert refused.value.problems == problems


def test_a_zone_from_the_environment_replaces_the_files() -> None:
    config = load("guardrails:\n  compliance_zones: [{name: a, sectors: [x]}]\n",
                  env={"RTP_CONFIG__GUARDRAILS__COMPLIANCE_ZONES": "[{name: b, categories: [y]}]"})
    assert config.guardrails.compliance_zones == (
        ComplianceZone("b", categories=frozenset({"y"})),)


names = st.text(alphabet="abcdefghij_", min_size=1, max_size=8)
lists = st.lists(names, max_size=3, unique=True)


@settings(deadline=None)  # a loaded CI machine: no timing in tests
@given(st.lists(st.fixed_dictionaries({"name": names, "sectors": lists, "page_types": lists,
                                       "categories": lists}), max_size=4),
       st.one_of(st.none(), st.integers(0, 20)), st.booleans())
def test_any_zones_publish_and_read_back_as_given(zones: list[dict[str, object]],
                                                   cap: int | None, blocks: bool) -> None:
    text = yaml.safe_dump({"guardrails": {"compliance_zones": zones, "max_actions_per_session": cap,
                                          "compliance_blocks_all": blocks}})
    config = load(text, env={})
    assert decode_config(encode_config(config)) == config
    assert [(z.name, sorted(z.sectors), sorted(z.page_types), sorted(z.categories))
            for z in config.guardrails.compliance_zones] == [
        (z["name"], sorted(z["sectors"]), sorted(z["page_types"]), sorted(z["categories"]))
        for z in zones]  # type: ignore[arg-type]
    assert (config.guardrails.max_actions_per_session,
            config.guardrails.compliance_blocks_all) == (cap, blocks)


def test_a_zone_in_the_file_changes_what_a_decision_may_do() -> None:
    from pipeline.client.samples import click_event
    from pipeline.engine import Engine

    def eligible(text: str) -> tuple[list[str], list[str]]:
        engine = Engine(engine_options(load(text, env={})))
        result = engine.on_event(None, click_event("v1", "page_view", 1_800_000_000_000,
                                                   page_type="home",
                                                   url="https://shop.example/"))
        assert result.decision is not None
        log = result.decision.log
        return [e["action_id"] for e in log["eligible"]], list(log["guardrails_fired"])

    assert eligible("") == (["no_action", "hero_by_traffic_source"], [])
    assert eligible("guardrails:\n  compliance_blocks_all: true\n  compliance_zones:\n"
                    "    - name: home\n      page_types: [home]\n") == (
        ["no_action"], ["compliance_zone:hero_by_traffic_source"])
