"""Candidate configurations from a file: every key and value checked, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.engine import EngineOptions
from pipeline.replay import OptionsOverrideError, apply_overrides, engine_options, load_overrides


def test_nested_and_dotted_keys_are_the_same_override() -> None:
    nested = apply_overrides(EngineOptions(), {"signals": {"hesitation": {"min_dwell_ms": 9000}},
                                               "decider": {"bandit": {"alpha": 2}}})
    dotted = apply_overrides(EngineOptions(), {"signals.hesitation.min_dwell_ms": 9000,
                                               "decider.bandit.alpha": 2})
    assert nested == dotted
    assert nested.decider.bandit.alpha == 2.0 and isinstance(nested.decider.bandit.alpha, float)
    # Everything else keeps its default.
    assert nested.decider.control_share == EngineOptions().decider.control_share
    assert nested.signals.rage_click == EngineOptions().signals.rage_click


def test_mixing_dotted_and_nested_keys_merges() -> None:
    opts = apply_overrides(EngineOptions(), {"decider": {"control_share": 0.3},
                                             "decider.bandit.epsilon": 0.2})
    assert (opts.decider.control_share, opts.decider.bandit.epsilon) == (0.3, 0.2)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"decider": {"bandit": {"alpah": 1.0}}}, "decider.bandit.alpah: unknown option (did you mean "
                                              "'alpha'?)"),
    ({"nonsense": 1}, "nonsense: unknown option; known: catalog_path, decider"),
    ({"decider.control_share": True}, "decider.control_share: expected float, got True"),
    ({"sessions.inactivity_gap_ms": 1.5}, "sessions.inactivity_gap_ms: expected int, got 1.5"),
    ({"decider.bandit.exploration": "greedy"}, "must be one of ['epsilon_greedy', 'softmax']"),
    ({"decider.bandit.epsilon": 2.0}, "decider.bandit: epsilon 2.0 must be in [0, 1]"),
    ({"signals.enabled_rules": ["rage_click", "telepathy"]}, "unknown struggle rules"),
    ({"signals.enabled_rules": "rage_click"}, "signals.enabled_rules: expected a list"),
    ({"decider": 3}, "decider: expected a mapping of DeciderOptions fields"),
    ({"decider.guardrails.max_actions_per_session": "six"}, "expected int, got 'six'"),
])
def test_bad_overrides_name_the_key(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(OptionsOverrideError) as caught:
        apply_overrides(EngineOptions(), overrides, "candidate.yaml")
    assert str(caught.value).startswith("candidate.yaml: ")
    assert message in str(caught.value)


def test_typed_values_are_converted() -> None:
    opts = apply_overrides(EngineOptions(), {
        "signals.enabled_rules": ["rage_click", "hesitation"],
        "decider.decide_on_event_types": ["page_view", "search"],
        "decider.guardrails.max_actions_per_session": None,
        "intent.excluded_features": ["converted"],
    })
    assert opts.signals.enabled_rules == frozenset({"rage_click", "hesitation"})
    assert opts.decider.decide_on_event_types == frozenset({"page_view", "search"})
    assert opts.decider.guardrails.max_actions_per_session is None
    assert opts.intent.excluded_features == ("converted",)


def test_a_file_relative_catalog_path_and_yaml_or_json(tmp_path: Path) -> None:
    (tmp_path / "cat").mkdir()
    catalog = tmp_path / "cat" / "mine.yaml"
    catalog.write_text(EngineOptions().catalog_path.read_text())
    yaml_file = tmp_path / "o.yaml"
    yaml_file.write_text("catalog_path: cat/mine.yaml\nintent:\n  cutoffs: {high_intent: 0.6}\n")
    json_file = tmp_path / "o.json"
    json_file.write_text('{"catalog_path": "cat/mine.yaml", "intent.cutoffs.high_intent": 0.6}')
    for path in (yaml_file, json_file):
        opts = engine_options(path)
        assert opts.catalog_path == catalog.resolve()
        assert opts.intent.cutoffs.high_intent == 0.6


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(OptionsOverrideError, match="cannot read"):
        load_overrides(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(OptionsOverrideError, match="not valid JSON/YAML"):
        load_overrides(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert engine_options(empty) == EngineOptions()


def test_a_broken_catalog_is_refused_before_the_replay(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nactions:\n  - id: x\n    slot: nowhere-known\n")
    with pytest.raises(OptionsOverrideError, match="--catalog: catalog_path: "):
        engine_options(catalog=broken)


def test_seed_sets_both_seeds_and_refuses_non_ints() -> None:
    opts = engine_options(seed=5)
    assert (opts.decider.bandit.seed, opts.intent.seed) == (5, 5)
    with pytest.raises(OptionsOverrideError, match="expected int"):
        engine_options(seed=True)


@settings(max_examples=40, deadline=None)
@given(epsilon=st.floats(0.0, 1.0), share=st.floats(0.01, 0.99),
       dwell=st.integers(1, 10**7))
def test_valid_values_land_exactly_where_they_were_put(epsilon: float, share: float,
                                                      dwell: int) -> None:
    opts = apply_overrides(EngineOptions(), {"decider.bandit.epsilon": epsilon,
                                             "decider": {"control_share": share},
                                             "signals.hesitation.min_dwell_ms": dwell})
    assert opts.decider.bandit.epsilon == epsilon
    assert opts.decider.control_share == share
    assert opts.signals.hesitation.min_dwell_ms == dwell


def test_an_overrides_file_reads_yaml_1_2_numbers(tmp_path: Path) -> None:
    from pipeline.replay.overrides import load_overrides

    path = tmp_path / "o.yaml"
    path.write_text("decider:\n  bandit:\n    epsilon: 5e-2\n")
    assert load_overrides(path) == {"decider": {"bandit": {"epsilon": 0.05}}}
    options = apply_overrides(EngineOptions(), load_overrides(path), str(path))
    assert options.decider.bandit.epsilon == 0.05
