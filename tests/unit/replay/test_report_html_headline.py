"""The HTML report leads with the config's objective, with the same numbers as the text
report's headline line (``rtp report --config FILE --html PAGE``)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import Objective
from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log

SYN = generate_synthetic_log(SyntheticOptions(n_visitors=300, control_share=0.5))
TEXT = re.compile(r"^headline: (?P<label>.+) \((?P<metric>\w+)\): control (?P<control>\S+), "
                  r"personalized (?P<personalized>\S+), lift (?P<lift>\S+) \(95% CI "
                  r"(?P<ci>\[.*\]|n/a)\)$")


class _Headline(HTMLParser):
    """Collects the ``#headline`` box: its metric and each ``data-figure`` value."""

    def __init__(self) -> None:
        super().__init__()
        self.metric: str | None = None
        self.boxes = 0
        self.figures: dict[str, str] = {}
        self.text: list[str] = []
        self._figure: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id") == "headline":
            self.boxes += 1
            self.metric = a.get("data-metric")
            self._depth = 1
        elif self._depth:
            self._depth += 1 if tag != "br" else 0
        if self._depth and "data-figure" in a:
            self._figure = a["data-figure"]

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1
        self._figure = None

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.text.append(data)
        if self._figure is not None:
            self.figures[self._figure] = self.figures.get(self._figure, "") + data


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("headline")
    logs, outcomes = folder / "log.jsonl", folder / "outcomes.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in SYN.logs))
    outcomes.write_text("".join(json.dumps(r) + "\n" for r in SYN.outcomes))
    return logs, outcomes


@pytest.mark.parametrize("objective", list(Objective))
def test_the_html_headline_shows_the_text_reports_numbers(
        objective: Objective, files: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config, page = tmp_path / "rtp.yaml", tmp_path / "report.html"
    config.write_text(f"objective: {objective.value}\n")
    assert main(["report", str(files[0]), str(files[1]), "--n-boot", "50",
                 "--config", str(config), "--html", str(page), "--erasures", "none"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("headline: ")]
    assert len(lines) == 1
    text = TEXT.match(lines[0])
    assert text is not None, lines[0]
    assert (text["label"], text["metric"]) == (objective.headline, objective.metric)

    html = _Headline()
    html.feed(page.read_text())
    assert html.boxes == 1
    assert html.metric == objective.metric
    assert objective.headline in "".join(html.text)
    # Both directions: every figure of the text line is on the page, and nothing else is.
    assert html.figures == {key: text[key] for key in
                            ("control", "personalized", "lift", "ci")}
    # A real number, not two "n/a"s agreeing.
    assert re.search(r"\d", html.figures["control"]) and re.search(r"\d", html.figures["lift"])


def test_without_a_config_the_html_leads_with_conversion(
        files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "report.html"
    assert main(["report", str(files[0]), str(files[1]), "--n-boot", "20",
                 "--html", str(page), "--erasures", "none"]) == 0
    capsys.readouterr()
    html = _Headline()
    html.feed(page.read_text())
    assert html.metric == "conversion_rate"
    assert "conversion rate per visitor" in "".join(html.text)
