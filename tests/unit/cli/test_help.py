"""Every command explains itself."""

from __future__ import annotations

import pytest

from pipeline.cli import build_parser, main


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)  # type: ignore[arg-type]


def test_top_level_help_lists_commands_and_environment(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "RTP_KAFKA_BOOTSTRAP" in out
    for name in _subcommands():
        assert name in out


@pytest.mark.parametrize("command", _subcommands())
def test_each_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert len(capsys.readouterr().out.splitlines()) > 3


def test_flags_after_the_subcommand_override_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.cli import _settings

    monkeypatch.setenv("RTP_KAFKA_PORT", "1111")
    args = build_parser().parse_args(["kafka", "status", "--port", "2222"])
    assert _settings(args).kafka_port == 2222
    args = build_parser().parse_args(["kafka", "status"])
    assert _settings(args).kafka_port == 1111


def test_a_bad_environment_value_is_a_clear_usage_error(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RTP_PARTITIONS", "many")
    with pytest.raises(SystemExit) as exit_info:
        main(["schemas", "list"])
    assert exit_info.value.code == 2
    assert "RTP_PARTITIONS must be an integer" in capsys.readouterr().err
