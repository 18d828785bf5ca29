"""What goes on the config topic: a published config reads back as the same config
(any valid one), its version names it in a commit mark beside the model's, and a value
that is not a valid config is refused with the reason."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import (
    ConfigError,
    ConfigRef,
    Objective,
    RtpConfig,
    decode_config,
    encode_config,
    load_config_text,
)
from pipeline.learning import ModelRef
from pipeline.learning.commit_mark import join_marks, mark_part
from pipeline.signals import SignalOptions

shares = st.floats(min_value=0.0, max_value=0.999, allow_nan=False)
salts = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")),
                min_size=1, max_size=20)
rules = st.frozensets(st.sampled_from(sorted(SignalOptions().enabled_rules)))


@st.composite
def configs(draw: st.DrawFn) -> RtpConfig:
    values = {
        "objective": draw(st.sampled_from([o.value for o in Objective])),
        "experiments": {"salt": draw(salts), "control_share": draw(shares)},
        "consent": {"mode": draw(st.sampled_from(["opt-in", "opt-out"]))},
        "detectors": {"enabled_rules": sorted(draw(rules))},
        "rewards": {"clicked": draw(st.floats(-1, 1, allow_nan=False))},
    }
    # JSON is YAML 1.2, the loader's dialect: PyYAML's safe_dump writes YAML 1.1, which
    # leaves a salt such as 0e0 unquoted, and YAML 1.2 reads that as the number 0.0.
    return load_config_text(json.dumps(values), env={})


@settings(deadline=None)  # a loaded CI machine: no timing in tests
@given(configs())
def test_a_published_config_reads_back_as_the_same_config(config: RtpConfig) -> None:
    assert decode_config(encode_config(config)) == config


@settings(deadline=None)  # a loaded CI machine: no timing in tests
@given(configs(), configs())
def test_two_configs_that_differ_publish_differently(a: RtpConfig, b: RtpConfig) -> None:
    assert (encode_config(a) == encode_config(b)) == (a == b)


def test_a_value_that_is_not_a_valid_config_is_refused_with_field_and_line() -> None:
    with pytest.raises(ConfigError) as refused:
        decode_config(b"experiments:\n  control_share: 2\n", "config version 4")
    assert refused.value.problems == [
        "line 2: field experiments.control_share: must be within [0, 1) (got 2.0)"]


@settings(deadline=None)  # a loaded CI machine: no timing in tests
@given(st.integers(0, 2**40), st.integers(0, 2**40), st.integers(-1, 2**40))
def test_a_commit_mark_carries_model_and_config_and_each_reads_back(
        version: int, model_offset: int, offset: int) -> None:
    model, config = ModelRef(version, model_offset), ConfigRef.at_offset(offset)
    mark = join_marks([model.mark(), config.mark()])
    assert ModelRef.from_mark(mark_part(mark, "rtp-model")) == model
    assert ConfigRef.from_mark(mark_part(mark, "rtp-config")) == config
    # A mark written before configs were published: the model only, no config.
    assert ModelRef.from_mark(mark_part(model.mark(), "rtp-model")) == model
    assert ConfigRef.from_mark(mark_part(model.mark(), "rtp-config")) is None


@settings(deadline=None)  # a loaded CI machine: no timing in tests
@given(st.text(max_size=40))
def test_any_mark_text_reads_as_a_ref_or_none_never_an_error(text: str) -> None:
    for prefix, ref in (("rtp-model", ModelRef), ("rtp-config", ConfigRef)):
        found = ref.from_mark(mark_part(text, prefix))
        assert found is None or found.mark() in text.split(";")
