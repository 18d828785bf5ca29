"""bench/delivery.py's command line: --help explains and measures nothing."""

from __future__ import annotations

import pytest

from bench.delivery import main


def test_help_prints_the_options_and_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "--no-record" in out and "--rates" in out and "RTP_BENCH_SCALE" in out
    assert "--held" in out and "--wait-ms" in out


def test_bad_rates_are_refused_before_anything_starts() -> None:
    with pytest.raises(ValueError):
        main(["--rates", "fast", "--no-record"])
