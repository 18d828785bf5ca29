"""The config file: validation errors name field and line, env overrides, the objective,
and the engine options built from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pipeline.cli import main
from pipeline.config import (
    ConfigError,
    ConsentMode,
    Objective,
    RtpConfig,
    engine_options,
    load_config,
    load_config_text,
)
from pipeline.decide import load_catalog
from pipeline.engine import EngineOptions
from pipeline.feedback.options import RewardOptions
from pipeline.settings import PROJECT_ROOT

EXAMPLE = PROJECT_ROOT / "deploy" / "config" / "rtp.yaml"


def _problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, env={} if env is None else env)
    return caught.value.problems


@pytest.mark.parametrize("text, problem", [
    ("objective: sales\n",
     "line 1: field objective: must be one of conversion, revenue, trial_to_paid, bounce"),
    ("\nexperiments:\n  salt: s\n  control_share: 1.0\n",
     "line 4: field experiments.control_share: must be within [0, 1) (got 1.0)"),
    ("experiments:\n  control_share: half\n",
     "line 2: field experiments.control_share: must be a number (got 'half')"),
    ("experiments:\n  salt: ''\n", "line 2: field experiments.salt: must not be empty"),
    ("consent:\n  mode: maybe\n", "line 2: field consent.mode: must be one of opt-out, opt-in"),
    ("detectors:\n  rage_click:\n    min_clicks: 2.5\n",
     "line 3: field detectors.rage_click.min_clicks: must be a whole number (got 2.5)"),
    ("detectors:\n  enabled_rules: [rage_click, mind_reading]\n",
     "line 2: field detectors.enabled_rules"),
    ("rewards:\n  clicked: true\n", "line 2: field rewards.clicked: must be a number (got True)"),
    ("rewards:\n  reward_wait_ms: -5\n", "line 2: field rewards.reward_wait_ms:"),
    ("rewards: 3\n", "line 1: field rewards: must be a section (a mapping of fields)"),
    ("experiments:\n  colour: red\n",
     "line 2: field experiments.colour: unknown field (known: salt, control_share)"),
    ("colour: red\n", "line 1: field colour: unknown field"),
    ("catalog: 3\n", "line 1: field catalog: must be a catalog file's name or the catalog"),
    ("guardrails:\n  max_actions_per_session: -1\n",
     "line 2: field guardrails.max_actions_per_session: must not be negative (got -1)"),
    ("detectors:\n  cooldown_ms: -5\n",
     "line 2: field detectors.cooldown_ms: must not be negative (got -5)"),
    ("detectors:\n  hesitation:\n    min_dwell_ms: -1e3\n",
     "line 3: field detectors.hesitation.min_dwell_ms: must be a whole number (got -1000.0)"),
    ("experiments:\n  salt: a\n  salt: b\n", "line 3: field experiments.salt: given twice"),
    ("- a list\n", "line 1: the file must be a mapping of fields"),
    ("objective: conversion\nrewards: {clicked: [\n", "line 3: not YAML"),
])
def test_each_problem_names_its_field_and_line(text: str, problem: str) -> None:
    problems = _problems(text)
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem), problems[0]


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems("objective: sales\nexperiments:\n  control_share: 2\n"
                         "detectors:\n  cooldown_ms: soon\n")
    assert [p.split(":")[0] for p in problems] == ["line 1", "line 3", "line 5"]


def test_a_valid_file_sets_exactly_what_it_names() -> None:
    config = load_config_text("experiments:\n  salt: spring-sale\n"
                              "detectors:\n  rage_click:\n    min_clicks: 5\n", env={})
    assert config.experiments.salt == "spring-sale"
    assert config.experiments.control_share == 0.10  # not set: the default
    assert config.detectors.rage_click.min_clicks == 5
    assert config.detectors.rage_click.window_ms == RtpConfig().detectors.rage_click.window_ms
    assert load_config_text("", env={}) == RtpConfig()


def test_environment_overrides_win_over_the_file_and_are_named_in_errors() -> None:
    text = "experiments:\n  control_share: 0.2\n"
    env = {"RTP_CONFIG__EXPERIMENTS__CONTROL_SHARE": "0.3",
           "RTP_CONFIG__DETECTORS__RAGE_CLICK__MIN_CLICKS": "7",
           "RTP_CONFIG__CONSENT__MODE": "opt-in", "RTP_OTHER": "ignored"}
    config = load_config_text(text, env=env)
    assert config.experiments.control_share == 0.3
    assert config.detectors.rage_click.min_clicks == 7
    assert config.consent.mode is ConsentMode.OPT_IN
    assert load_config_text(text, env={}).experiments.control_share == 0.2
    assert _problems(text, {"RTP_CONFIG__EXPERIMENTS__CONTROL_SHARE": "1.5"}) == [
        "RTP_CONFIG__EXPERIMENTS__CONTROL_SHARE: field experiments.control_share: "
        "must be within [0, 1) (got 1.5)"]
    assert _problems("", {"RTP_CONFIG__EXPERIMENTS__SALT__X": "1"}) == [
        "RTP_CONFIG__EXPERIMENTS__SALT__X: field experiments.salt: must be text (got {'x': 1})"]
    assert _problems("experiments:\n  salt: s\n", {"RTP_CONFIG__EXPERIMENTS__SALT__X": "1"}) == [
        "RTP_CONFIG__EXPERIMENTS__SALT__X: field experiments.salt.x: salt is not a section"]


@pytest.mark.parametrize("objective", list(Objective))
def test_the_objective_sets_the_reward_weights_the_file_then_adjusts(
        objective: Objective) -> None:
    config = load_config_text(f"objective: {objective.value}\n", env={})
    assert config.objective is objective
    assert config.rewards == objective.rewards()
    adjusted = load_config_text(f"objective: {objective.value}\nrewards:\n  dismissed: -0.05\n",
                                env={})
    assert adjusted.rewards == dataclasses.replace(objective.rewards(), dismissed=-0.05)


def test_objectives_differ_and_conversion_keeps_the_engine_defaults() -> None:
    assert Objective.CONVERSION.rewards() == RewardOptions()
    weights = {o: (o.rewards().converted, o.rewards().clicked, o.rewards().revenue_weight)
               for o in Objective}
    assert len(set(weights.values())) == len(Objective)
    assert Objective.REVENUE.rewards().reward_for({"converted"}, revenue=300.0) == 3.0
    assert len({o.headline for o in Objective}) == len(Objective)


def test_engine_options_carry_every_configured_part() -> None:
    config = load_config_text(
        "objective: revenue\nexperiments: {salt: s2, control_share: 0.25}\n"
        "consent: {mode: opt-in}\ndetectors: {cooldown_ms: 1000}\n", env={})
    engine = engine_options(config)
    assert (engine.decider.experiment_salt, engine.decider.control_share) == ("s2", 0.25)
    assert engine.profiles.consent_required is True
    assert engine.signals.cooldown_ms == 1000
    assert engine.rewards == Objective.REVENUE.rewards()
    default = engine_options(RtpConfig())
    # An empty config changes nothing: the built-in catalog, every other option the default.
    assert default.catalog is not None
    assert default.catalog.actions == load_catalog(EngineOptions().catalog_path).actions
    assert dataclasses.replace(default, catalog=None) == EngineOptions()


def test_the_example_file_validates() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.objective is Objective.CONVERSION
    assert config.rewards.dismissed == -0.2


def test_config_check_prints_the_effective_config_that_loads_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTP_CONFIG__EXPERIMENTS__SALT", "from-env")
    assert main(["config", "check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    printed = yaml.safe_load(out)
    assert printed["experiments"] == {"salt": "from-env", "control_share": 0.1}
    assert printed["detectors"]["hesitation"]["min_dwell_ms"] == 30000  # defaults included
    effective = tmp_path / "effective.yaml"
    effective.write_text(out)
    assert load_config(effective, env={}) == load_config(EXAMPLE)

    bad = tmp_path / "bad.yaml"
    bad.write_text("objective: conversion\nexperiments:\n  control_share: 3\n")
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == (f"{bad}: line 3: field experiments.control_share: must be within [0, 1) "
                   "(got 3.0)\n")


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(
    max_size=8)
_trees = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["objective", "experiments", "salt", "control_share", "consent", "mode",
                     "detectors", "rage_click", "min_clicks", "rewards", "clicked", "x",
                     "catalog", "version", "actions", "id", "slot", "guardrails"]),
    inner, max_size=4), max_leaves=12)


@given(_trees)
def test_any_yaml_document_either_loads_or_raises_config_error(tree: object) -> None:
    text = yaml.safe_dump(tree)
    try:
        config = load_config_text(text, env={})
    except ConfigError as exc:
        assert exc.problems and all(p for p in exc.problems)
    else:
        assert isinstance(config, RtpConfig)


@given(st.text(max_size=60))
def test_any_text_either_loads_or_raises_config_error(text: str) -> None:
    try:
        config = load_config_text(text, env={})
    except ConfigError as exc:
        assert exc.problems
    else:
        assert isinstance(config, RtpConfig)
