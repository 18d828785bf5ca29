"""``rtp worker``: the decision path on a librdkafka loop, assembled.

What runs (see README "Architecture"):

- this process: :class:`~topologies.loop.loop.ConsumerLoop` driving
  :class:`~topologies.decision_path.DecisionPath` over ``clickstream.events``,
  ``personalization.outcomes``, ``rtp.internal.visitor-profiles`` and ``profiles.updates``
  (consent and erasure, applied first in a batch), with RocksDB
  stores ``visitors`` and ``visitor-profiles`` recovered from their compacted changelogs
  ``<group>-<table>-changelog``, deciding with the newest snapshot on
  ``personalization.models`` (:class:`~topologies.model_feed.ModelFeed`) and with the newest
  config on ``personalization.config`` (:class:`~topologies.config_feed.ConfigFeed`, put
  there by ``rtp config publish``; without one, the startup config);
- the profile side (:mod:`topologies.profiles`, a Faust app) runs as its own process;
  ``rtp worker`` starts one beside itself unless told not to;
- the learner (:mod:`topologies.learner`) runs once per deployment.

The topics the worker needs beyond the declared ones (its internal topics and
changelogs) are created at start when missing.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from pipeline.decide import StoryOverride
from pipeline.engine import Engine, EngineOptions
from pipeline.engine.routing import CONVERSIONS
from pipeline.settings import Settings
from pipeline.topics import CONFIG, EVENTS, MODELS, OUTCOMES, PROFILES
from pipeline.topics.admin import apply_topics, describe_topics
from pipeline.topics.definitions import TopicSpec, topic_specs
from topologies.config_feed import ConfigFeed
from topologies.decision_path import VIEWS, VISITOR_PROFILES, VISITORS, DecisionPath, PathOptions
from topologies.loop.gc_pauses import GcOptions, GcPolicy
from topologies.loop.loop import ConsumerLoop, ConsumerOptions
from topologies.loop.outputs import Outputs, ProducerOptions
from topologies.loop.recovery import TOMBSTONE_RETENTION_MS, ChangelogReader
from topologies.loop.tables import Tables, changelog_topic
from topologies.loop.turns import LoopTurns
from topologies.metrics import WorkerMetrics
from topologies.model_feed import ModelFeed

__all__ = ["TABLES", "Worker", "WorkerError", "WorkerOptions", "internal_topics"]

log = structlog.get_logger(__name__)

TABLES = (VISITORS, VIEWS)
_DAY_MS = 24 * 3600 * 1000
_WEEK_MS = 7 * _DAY_MS


@dataclass(frozen=True)
class WorkerOptions:
    """How the worker runs (what it decides is :class:`EngineOptions`).

    >>> WorkerOptions().app_id
    'rtp-personalize'
    """

    app_id: str = "rtp-personalize"
    #: RocksDB folder; default: <cache>/worker/<app id>.
    data_dir: Path | None = None
    #: Commit (outputs acknowledged, changed states, input offsets)
    #: at least this often, seconds.
    commit_every_seconds: float = 2.0
    #: How often expired visitor states (session TTL) are deleted, seconds.
    sweep_every_seconds: float = 60.0
    #: Detector timers fire on the wall clock only in a partition idle this long, seconds
    #: (before that, at its newest event time: see :class:`PathOptions`).
    timers_idle_seconds: float = 1.0
    consumer: ConsumerOptions = field(default_factory=ConsumerOptions)
    #: How often librdkafka reports statistics (the consumer lag on /metrics), ms.
    stats_every_ms: int = 2000
    #: How long the worker waits for topics it just created (or a deploy job is creating) to
    #: show in the broker's metadata before it gives up, seconds.
    topics_wait_seconds: float = 30.0
    producer: ProducerOptions = field(default_factory=ProducerOptions)
    #: Python's cycle collector while the worker runs (:mod:`topologies.loop.gc_pauses`).
    gc: GcOptions = field(default_factory=GcOptions)
    #: Log every turn of the consumer loop that holds it at least this long, with where
    #: the time went (:mod:`topologies.loop.turns`), ms; 0: none.
    slow_turn_ms: float = 0.0
    #: Test-only: the scripted story runs' override (``rtp worker --story-override``, which
    #: only ``rtp demo --story`` and the tests pass); None in production.
    story: StoryOverride | None = None

    def group(self, settings: Settings) -> str:
        """The consumer group (and changelog prefix) under the settings' topic prefix.

        >>> WorkerOptions().group(Settings(topic_prefix="t."))
        't.rtp-personalize'
        """
        return f"{settings.topic_prefix}{self.app_id}"

    def folder(self, settings: Settings) -> Path:
        """The worker's data folder."""
        return self.data_dir or settings.cache_dir / "worker" / self.group(settings)


def internal_topics(settings: Settings, group: str) -> list[TopicSpec]:
    """The worker's own topics: internal streams and one compacted changelog per table.

    >>> [t.name for t in internal_topics(Settings(partitions=2), "g")][:2]
    ['rtp.internal.visitor-profiles', 'rtp.internal.conversions']
    """
    delete = {"cleanup.policy": "delete", "retention.ms": str(_WEEK_MS)}
    specs = [
        TopicSpec(settings.topic(VISITOR_PROFILES), settings.partitions, settings.replication,
                  "visitor id", "", delete, "profile views for the decision path"),
        # Kept as long as the decision log: the experiment report attributes these
        # purchases to logged decisions (pipeline.replay.attribution).
        TopicSpec(settings.topic(CONVERSIONS), settings.partitions, settings.replication,
                  "person", "ClickEvent",
                  {"cleanup.policy": "delete", "retention.ms": str(30 * _DAY_MS)},
                  "purchases re-keyed by person"),
    ]
    compact = {"cleanup.policy": "compact",
               "delete.retention.ms": str(TOMBSTONE_RETENTION_MS),
               "max.message.bytes": str(ProducerOptions().max_message_bytes)}
    specs += [TopicSpec(changelog_topic(group, table), settings.partitions, settings.replication,
                        "table key", "", compact, f"changelog of the {table} table")
              for table in TABLES]
    return specs


class WorkerError(RuntimeError):
    """The worker cannot run as configured (the message says why)."""


class Worker:
    """One ``rtp worker`` process: build, run until SIGTERM/SIGINT, commit, leave."""

    def __init__(self, settings: Settings, options: WorkerOptions | None = None,
                 engine_options: EngineOptions | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.options = options or WorkerOptions()
        self.engine_options = engine_options or EngineOptions()
        self.group = self.options.group(settings)
        data_dir = self.options.folder(settings)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.engine = Engine(self.engine_options, learn_inline=False, story=self.options.story)
        if self.options.story is not None:
            log.warning("story override on: visitors of this prefix are forced into the "
                        "personalized arm and their story's action (test only)",
                        visitor_prefix=self.options.story.visitor_prefix,
                        actions=list(self.options.story.actions))
        self.models = ModelFeed(settings.bootstrap, settings.topic(MODELS), self.engine_options)
        self.configs = ConfigFeed(settings.bootstrap, settings.topic(CONFIG))
        self.reader = ChangelogReader(settings.bootstrap, max_idle_ms=TOMBSTONE_RETENTION_MS)
        self.tables = Tables(data_dir, self.group, TABLES, self.reader)
        self.outputs = Outputs(settings.bootstrap, self.options.producer)
        self.metrics = WorkerMetrics()
        self.path = DecisionPath(settings, self.engine, self.tables,
                                 self.outputs, self.models,
                                 PathOptions(
                                     sweep_every_s=self.options.sweep_every_seconds,
                                     timers_idle_after_ms=round(
                                         1000 * self.options.timers_idle_seconds)),
                                 clock=clock, metrics=self.metrics, configs=self.configs)
        inputs = [settings.topic(name) for name in (EVENTS, OUTCOMES, VISITOR_PROFILES,
                                                     PROFILES)]
        # librdkafka's statistics carry the consumer lag of /metrics (stats_cb runs in poll,
        # on the loop's thread).
        stats = {"statistics.interval.ms": self.options.stats_every_ms,
                 "stats_cb": self.metrics.on_stats}
        turns = LoopTurns(self.options.slow_turn_ms, observe=self.metrics.loop_turn)
        self.metrics.loop_phases(turns.totals)
        self.path.turns = turns
        # Consent and erasure first: an opt-out fetched with page views stops their decisions.
        self.loop = ConsumerLoop(settings.bootstrap, self.group, inputs, self.path,
                                 self.options.commit_every_seconds, self.options.consumer,
                                 extra_config=stats,
                                 first=(settings.topic(PROFILES), settings.topic(VISITOR_PROFILES)),
                                 marks=self.path, gc_policy=GcPolicy(self.options.gc),
                                 turns=turns)
        # A partition's timers follow its events alone while more of them wait to be read.
        self.path.input_behind = self.loop.behind

    def _check_copartitioned(self) -> None:
        """Refuse to start when the inputs and changelogs differ in partition count: a
        visitor's events, outcomes, profile views (consent, erasure) and stored state must
        share a partition number, or an opted-out visitor would go on being personalized."""
        names = [*self.loop.topics, *(changelog_topic(self.group, t) for t in TABLES)]
        deadline = time.monotonic() + self.options.topics_wait_seconds
        while True:
            counts = describe_topics(self.settings.bootstrap)
            found = {name: counts.get(name) for name in names}
            missing = sorted(name for name, count in found.items() if count is None)
            if not missing:
                break
            if time.monotonic() >= deadline:
                raise WorkerError(f"topics missing: {', '.join(missing)} (waited "
                                  f"{self.options.topics_wait_seconds:g} s)")
            # Topics created a moment ago reach the metadata a little later on a busy broker.
            log.info("waiting for topics to show in the metadata", missing=len(missing))
            time.sleep(0.5)
        if len(set(found.values())) != 1:
            raise WorkerError("the worker's inputs and changelogs must have one partition count "
                              f"(they are co-partitioned by visitor): {found}")
        if set(found.values()) != {self.settings.partitions}:
            # Consent and erasure are routed to partition_for(visitor, RTP_PARTITIONS).
            raise WorkerError(f"RTP_PARTITIONS={self.settings.partitions} but the worker's "
                              f"topics have {found[self.loop.topics[0]]} partitions")

    def run(self) -> int:
        """Create missing topics (declared and internal; drift is logged), check that the
        inputs are co-partitioned, consume until stopped; 0 on a clean stop."""
        # The declared topics (as `rtp topics apply` makes them) and the worker's own.
        declared = topic_specs(self.settings.partitions, self.settings.replication,
                               self.settings.topic_prefix)
        report = apply_topics(self.settings.bootstrap,
                              [*declared, *internal_topics(self.settings, self.group)])
        for drift in report.drift:
            log.warning("topic drift", drift=str(drift))
        self._check_copartitioned()
        snapshot = self.models.start()
        if snapshot is not None:
            self.path.offer_model(snapshot)
        published = self.configs.start()
        if published is not None:  # the newest published config wins over the startup one
            self.path.offer_config(published)

        def stop(signum: int, _: Any) -> None:
            log.info("stopping", signal=signal.Signals(signum).name)
            self.loop.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if self.settings.worker_metrics_port:
            port = self.metrics.serve(self.settings.worker_metrics_host,
                                      self.settings.worker_metrics_port)
            log.info("worker metrics", url=f"http://{self.settings.worker_metrics_host}:{port}"
                                            "/metrics")
        log.info("worker starting", group=self.group)
        try:
            self.loop.run()
        finally:
            self.metrics.close()
            self.models.close()
            self.configs.close()
            self.tables.close()
            self.reader.close()
            self.outputs.close()
        return 0
