"""The console follows ``rtp config publish`` like the workers: a published config's action
catalog and objective replace its startup ones, on the real broker."""

from __future__ import annotations

import dataclasses
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.commands.config_topic import publish_config
from pipeline.config import load_config_text
from pipeline.config.catalog import builtin_catalog
from pipeline.console import ConsoleOptions
from pipeline.console.service import topic_exists
from pipeline.settings import Settings
from pipeline.topics import CONFIG, apply_topics, topic_specs
from tests.e2e.console_tier import ConsoleTier

PUBLISHED = """\
objective: revenue
catalog:
  version: 5
  actions:
    - {id: no_action, slot: none}
    - {id: live_banner, slot: hero, ttl_seconds: 60, payload: {headline: "Published"}}
"""


def _shown(console: ConsoleTier) -> tuple[Any, ...]:
    body = console.service.snapshot()
    return (body["config_version"], body["catalog"]["version"],
            body["catalog"]["fingerprint"], body["objective"]["name"],
            body["experiment"].get("headline", {}).get("metric"))


def test_the_console_shows_the_published_catalog_and_objective(topics: Settings) -> None:
    builtin = builtin_catalog().catalog
    config = load_config_text(PUBLISHED, env={})
    options = ConsoleOptions(http_port=0, report_every_s=0.0, n_boot=20, key="k" * 12)
    with ConsoleTier(topics, options) as console:
        # Nothing published yet: the startup config (the built-in catalog, conversion).
        assert _shown(console)[:4] == (0, builtin.version, builtin.fingerprint, "conversion")
        ref = publish_config(topics.bootstrap, topics.topic(CONFIG), config)
        deadline = time.monotonic() + 60
        while _shown(console)[0] != ref.version:
            assert time.monotonic() < deadline, _shown(console)
            time.sleep(0.2)  # the console's feed thread reads the topic
        assert _shown(console)[:4] == (ref.version, 5, config.catalog.catalog.fingerprint,
                                       "revenue")
    # A console started after the publish starts with it.
    with ConsoleTier(topics, options) as console:
        assert _shown(console)[:4] == (ref.version, 5, config.catalog.catalog.fingerprint,
                                       "revenue")


def test_the_console_follows_a_config_topic_created_after_it_started(
        kafka: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = dataclasses.replace(kafka, topic_prefix=f"it-{uuid.uuid4().hex[:10]}.")
    apply_topics(settings.bootstrap, [
        spec for spec in topic_specs(settings.partitions, settings.replication,
                                     settings.topic_prefix) if spec.name != settings.topic(CONFIG)])
    assert not topic_exists(settings.bootstrap, settings.topic(CONFIG))
    builtin = builtin_catalog().catalog
    config_file = tmp_path / "rtp.yaml"
    config_file.write_text(PUBLISHED)
    config = load_config_text(PUBLISHED, env={})
    options = ConsoleOptions(http_port=0, report_every_s=0.0, n_boot=20, key="k" * 12,
                             config_check_s=0.5)
    with ConsoleTier(settings, options) as console:
        assert _shown(console)[:4] == (0, builtin.version, builtin.fingerprint, "conversion")
        # The operator's first publish creates the topic, after the console started.
        assert main(["config", "publish", str(config_file), "--bootstrap", settings.bootstrap,
                     "--topic-prefix", settings.topic_prefix]) == 0
        out = capsys.readouterr().out
        version = int(out.split("published config version ", 1)[1].split()[0])
        assert topic_exists(settings.bootstrap, settings.topic(CONFIG))
        deadline = time.monotonic() + 60
        while _shown(console)[0] != version:
            assert time.monotonic() < deadline, _shown(console)
            time.sleep(0.2)  # the console's watch thread finds the topic, then reads it
        assert _shown(console)[:4] == (version, 5, config.catalog.catalog.fingerprint,
                                       "revenue")
        # And it goes on following: a second publish (the objective changed) is shown too.
        config_file.write_text(PUBLISHED.replace("objective: revenue", "objective: bounce"))
        assert main(["config", "publish", str(config_file), "--bootstrap", settings.bootstrap,
                     "--topic-prefix", settings.topic_prefix]) == 0
        second = int(capsys.readouterr().out.split("published config version ", 1)[1]
                     .split()[0])
        assert second > version
        while _shown(console)[0] != second:
            assert time.monotonic() < deadline, _shown(console)
            time.sleep(0.2)
        assert _shown(console)[3] == "bounce"
