"""The experiment report's HTML page, opened in headless Debian Chromium, with a screenshot.

The report comes from the analysts' path end to end: a generated clickstream is
replayed through the engine (``rtp replay``), and ``rtp report`` turns the
replayed decision log and the outcomes into the HTML page. Chromium renders it
twice: a ``--screenshot`` run (the artifact in ``tests/artifacts/``) and a
Playwright page that checks the plots are drawn.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from pipeline.commands import replay, report
from tests.unit.replay.cli_helpers import run_command
from tests.unit.replay.stream_factory import generate_stream

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--hide-scrollbars"]
WIDTH, HEIGHT = 1280, 2000


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    files = generate_stream(n_visitors=80, seed=11).write(folder / "in")
    assert run_command(replay, ["replay", str(files["events"]), "--outcomes",
                                str(files["outcomes"]), "--profiles", str(files["profiles"]),
                                "--out", str(folder / "run"), "-q"]) == 0
    html = folder / "report.html"
    assert run_command(report, ["report", str(folder / "run" / "decisions.jsonl"),
                                str(files["outcomes"]), "--control-share", "0.1",
                                "--html", str(html), "--n-boot", "200"]) == 0
    return html


def _screenshot(page: Path, png: Path) -> None:
    png.unlink(missing_ok=True)
    done = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}",
         page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def _png_size(png: Path) -> tuple[int, int]:
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    return width, height


def test_the_report_renders_in_chromium_and_is_saved_as_a_screenshot(
        report_html: Path, artifacts: Path, tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "Debian's chromium is needed: apt-get install chromium"
    png = artifacts / "report.png"
    _screenshot(report_html, png)
    assert png.is_file()
    assert _png_size(png) == (WIDTH, HEIGHT)
    # Non-trivial: far more than a blank page of the same size.
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    _screenshot(blank, tmp_path / "blank.png")
    assert png.stat().st_size > 4 * (tmp_path / "blank.png").stat().st_size
    assert png.stat().st_size > 50_000


def test_the_plots_are_drawn(report_html: Path, browser: Browser, artifacts: Path) -> None:
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto(report_html.resolve().as_uri())
        assert "conversion_rate" in page.inner_text("body")
        charts = page.locator("svg")
        assert charts.count() >= 3  # lift over time, cumulative reward, action mix
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50
        assert page.locator("table").count() >= 2
        page.screenshot(path=str(artifacts / "report-full.png"), full_page=True)
    finally:
        page.close()
    assert errors == []
