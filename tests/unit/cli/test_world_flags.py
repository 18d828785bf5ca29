"""``rtp simulate`` and ``rtp demo`` take the simulated world (and its drift) as flags."""

from __future__ import annotations

import pytest

import pipeline.commands.demo as demo
from pipeline.cli import build_parser, main


class _Summary:
    def to_text(self) -> str:
        return "summary"


@pytest.mark.parametrize("command", ["simulate", "demo"])
def test_help_explains_the_world_flags(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--world {classic,contextual}" in out
    assert "--drift-after-minutes MINUTES" in out
    assert "traffic source" in out


@pytest.mark.parametrize("command", ["simulate", "demo"])
@pytest.mark.parametrize("argv, message", [
    (["--drift-after-minutes", "5"], "needs --world contextual"),
    (["--world", "contextual", "--drift-after-minutes", "-1"], "must be >= 0"),
    (["--world", "flat"], "invalid choice"),
])
def test_a_wrong_world_is_a_usage_error(command: str, argv: list[str], message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--offline", *argv] if command == "simulate" else [command, *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_simulate_offline_runs_the_world_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    def fake_run_offline(options, minutes, progress=None):  # type: ignore[no-untyped-def]
        seen.append((options.world, options.drift_after_ms, minutes))
        return _Summary()

    monkeypatch.setattr("pipeline.commands.simulate.run_offline", fake_run_offline)
    assert main(["simulate", "--offline", "--minutes", "3", "--world", "contextual",
                 "--drift-after-minutes", "2"]) == 0
    assert main(["simulate", "--offline", "--minutes", "3"]) == 0
    assert seen == [("contextual", 120_000, 3), ("classic", None, 3)]


def test_demo_passes_the_world_to_its_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    got = []

    def fake_run_demo(settings, options):  # type: ignore[no-untyped-def]
        got.append((options.world, options.drift_after_ms))
        raise SystemExit(0)

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    args = build_parser().parse_args(["demo", "--world", "contextual",
                                      "--drift-after-minutes", "0.5"])
    with pytest.raises(SystemExit):
        args.handler(args, None)
    assert got == [("contextual", 30_000)]
