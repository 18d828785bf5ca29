"""``rtp channel``: bad options exit 2 with a message naming the problem, before any Kafka."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main


@pytest.mark.parametrize(("extra", "message"), [
    (["--quiet-hours", "late"], "quiet hours must be HH:MM-HH:MM"),
    (["--time-zone", "Moon/Base"], "unknown time zone 'Moon/Base'"),
    (["--sink", "smtp"], "the smtp sink sends email only"),
    (["--sink", "carrier-pigeon"], "unknown sink"),
    (["--per-day", "-1"], "must be >= 0"),
])
def test_bad_options_exit_2_with_the_reason(
        extra: list[str], message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    contacts = tmp_path / "crm.json"
    contacts.write_text("{}")
    assert main(["channel", "sms", "--contacts", str(contacts), *extra]) == 2
    assert message in capsys.readouterr().err


def test_an_unreadable_contacts_file_exits_2(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "crm.json").write_text("[1, 2]")
    assert main(["channel", "email", "--contacts", str(tmp_path / "nope.json")]) == 2
    assert "cannot read the contacts file" in capsys.readouterr().err
    assert main(["channel", "email", "--contacts", str(tmp_path / "crm.json")]) == 2
    assert "must be a JSON object" in capsys.readouterr().err


def test_help_explains_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["channel", "--help"])
    out = capsys.readouterr().out
    for words in ("quiet hours", "frequency caps", "dismissed on the web", "purchased on any",
                  "never the address"):
        assert words in out
