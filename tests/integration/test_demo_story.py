"""``rtp demo --story``: one scripted visitor per seed story through the real broker, worker
(with the test-only story override) and web tier; the printed steps come from the topics and
delivery, and the seed's action is served."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.settings import Settings
from pipeline.stories import STORIES

#: The struggle signal each story turns on (none for SaaS: its rule is a count of views).
SIGNAL = {"headphones": "hesitation", "saas": None, "travel": "search_refresh_loop",
          "finance": "calculator_fiddling"}


@pytest.mark.parametrize("name", sorted(STORIES))
def test_a_story_prints_what_was_detected_decided_and_served(
        name: str, kafka: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    story = STORIES[name]
    monkeypatch.setenv("RTP_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("RTP_KAFKA_BOOTSTRAP", kafka.bootstrap)  # the broker answers
    code = main(["demo", "--story", name])
    out = capsys.readouterr().out
    assert code == 0, out
    steps = [line for line in out.splitlines() if line.startswith("step ")]
    assert len(steps) == len(story.steps)
    decided = [line for line in out.splitlines()
               if line.startswith(f"  decision: {story.action} -> {story.slot} ")]
    assert len(decided) == 1, out
    assert story.proof in decided[0] and "chosen by the story override" in decided[0]
    assert "arm personalized" in decided[0]
    served = f"{story.slot} = {story.action} \""
    assert any(served in line and story.proof in line for line in out.splitlines()
               if line.startswith("  delivery")), out
    if SIGNAL[name] is not None:
        assert f"  signal: {SIGNAL[name]}" in out
    assert out.rstrip().endswith(f"served by delivery in the {story.slot} slot")
