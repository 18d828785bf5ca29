"""``--config FILE`` of the long-running commands: a bad file is refused before anything
starts (exit 2, field and line named); a good one becomes the engine options."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.commands.config_file import engine_options_of


def test_rtp_learner_refuses_a_bad_config_naming_field_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "rtp.yaml"
    bad.write_text("objective: conversion\nexperiments:\n  control_share: 2.5\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["learner", "--config", str(bad)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("rtp learner: ") and "control_share" in err and "line 3" in err


def test_a_good_config_sets_the_engine_options(tmp_path: Path) -> None:
    good = tmp_path / "rtp.yaml"
    good.write_text("objective: conversion\nexperiments:\n  control_share: 0.25\n")
    options = engine_options_of(good, "rtp learner")
    assert options is not None and options.decider.control_share == 0.25
