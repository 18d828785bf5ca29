"""Issue 12: the consent mode reaches the worker from the file, ``RTP_CONSENT_REQUIRED`` and
``rtp worker --consent``, the flag winning over the variable, the variable over the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.commands.config_file import engine_options_of
from pipeline.config.startup import startup_options


@pytest.mark.parametrize(("file_mode", "env", "flag", "required"), [
    (None, {}, None, False),                                       # default: opt-out
    ("opt-in", {}, None, True),                                    # the file
    ("opt-in", {"RTP_CONSENT_REQUIRED": "false"}, None, False),    # the variable over it
    ("opt-out", {"RTP_CONSENT_REQUIRED": "true"}, None, True),
    (None, {"RTP_CONSENT_REQUIRED": "yes"}, None, True),           # the variable alone
    ("opt-out", {"RTP_CONSENT_REQUIRED": "false"}, "opt-in", True),  # the flag over both
    ("opt-in", {"RTP_CONSENT_REQUIRED": "true"}, "opt-out", False),
])
def test_flag_over_variable_over_file(tmp_path: Path, file_mode: str | None,
                                      env: dict[str, str], flag: str | None,
                                      required: bool) -> None:
    path = None
    if file_mode is not None:
        path = tmp_path / "rtp.yaml"
        path.write_text(f"consent:\n  mode: {file_mode}\n")
    assert startup_options(path, flag, env).profiles.consent_required is required


def test_rtp_worker_refuses_an_unreadable_variable(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTP_CONSENT_REQUIRED", "maybe")
    with pytest.raises(SystemExit) as exited:
        engine_options_of(None, "rtp worker")
    assert exited.value.code == 2
