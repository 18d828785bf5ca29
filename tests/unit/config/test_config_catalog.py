"""The action catalog in the config file: inline or by file name, validated with the config
file's lines, overridable from the environment, published whole; YAML 1.2 numbers."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from pipeline.cli import main
from pipeline.config import ConfigError, engine_options, load_config, load_config_text
from pipeline.config.catalog import BUILTIN_CATALOG, CatalogConfig
from pipeline.config.wire import decode_config, encode_config
from pipeline.decide import ComplianceZone, GuardrailOptions, load_catalog
from pipeline.engine import Engine, EngineOptions
from pipeline.signals import SignalOptions

CATALOG_FILE = """\
version: 7
actions:
  - id: no_action
    slot: none
  - id: only_banner
    slot: hero
    ttl_seconds: 60
    payload: {headline: "Hello"}
"""

#: The same catalog inline in a config file.
INLINE = ("objective: conversion\ncatalog:\n" + textwrap.indent(CATALOG_FILE, "  ")
          + "experiments:\n  control_share: 0.0\n")


def _problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, env={} if env is None else env)
    return caught.value.problems


def test_an_inline_catalog_is_the_one_the_engine_decides_with() -> None:
    config = load_config_text(INLINE, env={})
    assert config.catalog.catalog.ids == ("no_action", "only_banner")
    assert config.catalog.catalog.version == 7
    engine = Engine(engine_options(config))
    assert engine.catalog.ids == ("no_action", "only_banner")
    assert engine.decider.policy_version.startswith("catalog-v7-")
    # Without a catalog in the file: the built-in one, every action of it, nothing else.
    default = Engine(engine_options(load_config_text("", env={})))
    assert default.catalog.ids == load_catalog(BUILTIN_CATALOG).ids


def test_a_catalog_file_is_read_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "catalogs").mkdir()
    (tmp_path / "catalogs" / "mine.yaml").write_text(CATALOG_FILE)
    config_file = tmp_path / "rtp.yaml"
    config_file.write_text("catalog: catalogs/mine.yaml\n")
    from_file = load_config(config_file, env={})
    assert from_file.catalog.catalog.ids == ("no_action", "only_banner")
    # The same actions inline or in a file: the same config, the same fingerprint.
    inline = load_config_text(INLINE.replace("  control_share: 0.0", "  control_share: 0.1"),
                              env={})
    assert from_file == inline
    assert from_file.catalog.catalog.fingerprint == inline.catalog.catalog.fingerprint
    other = load_config_text(INLINE.replace("Hello", "Hi"), env={})
    assert other.catalog != inline.catalog
    assert other.catalog.catalog.fingerprint != inline.catalog.catalog.fingerprint


@pytest.mark.parametrize("body, problem", [
    # no ttl_seconds on line 6 of the file (the action starts there)
    ("catalog:\n  version: 1\n  actions:\n    - id: no_action\n      slot: none\n"
     "    - id: hero_x\n      slot: hero\n",
     "line 6: field catalog: action 'hero_x' is missing the required field 'ttl_seconds'"),
    ("objective: bounce\ncatalog:\n  version: 1\n  actions:\n    - id: no_action\n"
     "      slot: none\n    - id: hero_x\n      slot: sidebar\n      ttl_seconds: 5\n",
     "line 8: field catalog: action 'hero_x': 'slot' has unknown value 'sidebar'"),
    ("catalog:\n  version: 1\n  actions:\n    - id: hero_x\n      slot: hero\n"
     "      ttl_seconds: 5\n",
     "line 3: field catalog: catalog: 'actions' must include the explicit 'no_action'"),
    ("catalog: {version: 1, actions: [{id: no_action, slot: none, caps: {per_session: 1}}]}\n",
     "line 1: field catalog: action 'no_action': 'caps' is not allowed on no_action"),
    ("catalog: 12\n", "line 1: field catalog: must be a catalog file's name or the catalog"),
])
def test_an_inline_catalog_problem_names_the_config_files_line(body: str, problem: str) -> None:
    problems = _problems(body)
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem), problems[0]


def test_a_problem_in_a_named_catalog_file_names_that_file_and_its_line(
        tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(CATALOG_FILE.replace("ttl_seconds: 60",
                                                               "ttl_seconds: soon"))
    config_file = tmp_path / "rtp.yaml"
    config_file.write_text("objective: revenue\ncatalog: broken.yaml\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config_file, env={})
    assert caught.value.problems == [
        f"line 2: field catalog: {tmp_path / 'broken.yaml'}:7: action 'only_banner': "
        "'ttl_seconds' must be an integer, got 'soon'"]
    config_file.write_text("catalog: missing.yaml\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config_file, env={})
    assert caught.value.problems == [
        f"line 1: field catalog: {tmp_path / 'missing.yaml'}:1: cannot read the catalog: "
        "No such file or directory"]


def test_the_environment_replaces_the_whole_catalog_by_file_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "env.yaml").write_text(CATALOG_FILE.replace("version: 7", "version: 9"))
    monkeypatch.chdir(tmp_path)  # a name from the environment is relative to the working dir
    config = load_config_text(INLINE, env={"RTP_CONFIG__CATALOG": "env.yaml"})
    assert config.catalog.catalog.version == 9
    # A field inside the inline catalog cannot be set alone: the catalog is one piece.
    problems = _problems(INLINE, env={"RTP_CONFIG__CATALOG__VERSION": "3"})
    assert problems == ["RTP_CONFIG__CATALOG__VERSION: field catalog: set the whole catalog "
                        "from the environment, as a file name: RTP_CONFIG__CATALOG=FILE"]


def test_the_effective_config_carries_the_catalog_whole_and_publishes_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mine.yaml").write_text(CATALOG_FILE)
    config_file = tmp_path / "rtp.yaml"
    config_file.write_text("catalog: mine.yaml\n")
    assert main(["config", "check", str(config_file)]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["catalog"] == yaml.safe_load(CATALOG_FILE)
    config = load_config(config_file, env={})
    # What a worker reads off the topic is the catalog itself, not the publisher's file name.
    (tmp_path / "mine.yaml").unlink()
    published = decode_config(encode_config(config))
    assert published == config
    assert [replace(a, line=0) for a in published.catalog.catalog.actions] == [
        replace(a, line=0) for a in config.catalog.catalog.actions]
    assert published.catalog.catalog.fingerprint == config.catalog.catalog.fingerprint


def test_a_published_catalog_with_another_action_reaches_the_engine() -> None:
    config = load_config_text(INLINE, env={})
    changed = load_config_text(INLINE.replace("id: only_banner", "id: other_banner"), env={})
    running = Engine(engine_options(config))
    switched = Engine(engine_options(decode_config(encode_config(changed))))
    assert (running.catalog.ids, switched.catalog.ids) == (
        ("no_action", "only_banner"), ("no_action", "other_banner"))


def test_yaml_1_2_numbers_are_numbers_in_the_config_and_the_catalog() -> None:
    config = load_config_text("rewards:\n  revenue_weight: 1e-2\n  dismissed: -5E-1\n", env={})
    assert (config.rewards.revenue_weight, config.rewards.dismissed) == (0.01, -0.5)
    env = load_config_text("", env={"RTP_CONFIG__REWARDS__REVENUE_WEIGHT": "1e-09"})
    assert env.rewards.revenue_weight == 1e-09
    catalog = CatalogConfig.parse(
        "version: 1\nactions:\n  - {id: no_action, slot: none}\n  - id: a\n    slot: hero\n"
        "    ttl_seconds: 5\n    when: {min_intent: 5e-1}\n", "<test>")
    assert catalog.catalog["a"].when.min_intent == 0.5
    assert catalog.values["actions"][1]["when"] == {"min_intent": 0.5}
    # A quoted one stays text, and is refused as a number with the field and line.
    assert _problems("rewards:\n  clicked: '1e-09'\n") == [
        "line 2: field rewards.clicked: must be a number (got '1e-09')"]


def test_options_refuse_negative_caps_and_thresholds_in_code_too() -> None:
    with pytest.raises(ValueError, match="max_actions_per_visitor: must not be negative"):
        GuardrailOptions(max_actions_per_visitor=-3)
    assert GuardrailOptions(max_actions_per_session=0).max_actions_per_session == 0
    with pytest.raises(ValueError, match="cooldown_ms: must not be negative"):
        SignalOptions(cooldown_ms=-1)
    assert _problems("guardrails:\n  max_actions_per_visitor: -2\n") == [
        "line 2: field guardrails.max_actions_per_visitor: must not be negative (got -2)"]
    assert _problems("detectors:\n  rage_click: {radius_px: -30}\n") == [
        "line 2: field detectors.rage_click.radius_px: must not be negative (got -30)"]
    # Zones are lists of names; nothing else in them is a number.
    assert ComplianceZone(name="z", sectors=frozenset({"finance"})).name == "z"


def test_engine_options_without_a_catalog_read_the_catalog_path() -> None:
    assert EngineOptions().catalog is None
    assert Engine(EngineOptions()).catalog.ids == load_catalog(BUILTIN_CATALOG).ids
