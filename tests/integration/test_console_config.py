"""The console follows ``rtp config publish`` like the workers: a published config's action
catalog and objective replace its startup ones, on the real broker."""

from __future__ import annotations

import time
from typing import Any

from pipeline.commands.config_topic import publish_config
from pipeline.config import load_config_text
from pipeline.config.catalog import builtin_catalog
from pipeline.console import ConsoleOptions
from pipeline.settings import Settings
from pipeline.topics import CONFIG
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
