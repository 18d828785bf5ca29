"""Progress lines carry no carriage return when the output is not a terminal."""

from __future__ import annotations

import io

from pipeline.commands.simulate import minute_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_piped_progress_is_one_line_per_report_without_carriage_returns() -> None:
    out = io.StringIO()
    report = minute_progress(12, out)
    for minute in range(1, 13):
        report(minute)
    assert "\r" not in out.getvalue()
    assert out.getvalue().splitlines() == ["simulated 5/12 min", "simulated 10/12 min",
                                           "simulated 12/12 min"]


def test_a_terminal_redraws_in_place_and_ends_the_line() -> None:
    out = _Terminal()
    report = minute_progress(10, out)
    for minute in range(1, 11):
        report(minute)
    assert out.getvalue() == "\rsimulated 5/10 min\rsimulated 10/10 min\n"
