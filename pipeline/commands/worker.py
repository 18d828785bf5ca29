"""``rtp worker``: run the decision path (a librdkafka loop) until stopped.

By default it also starts the profile side (``rtp profiles``, a Faust app) as a child
process that ends with it; ``--no-profiles`` leaves that to a separate deployment.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.decide.story import StoryOverride

__all__ = ["register", "run_worker", "story_override_of"]

log = structlog.get_logger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp worker`` to the CLI."""
    parser = sub.add_parser(
        "worker", help="run the personalization worker until SIGTERM/SIGINT",
        description="Consume clickstream.events, personalization.outcomes and the profile "
                    "views; sessionize, detect struggle, score intent, decide; write "
                    "actions, the decision log, signals and learning records (for rtp learner; "
                    "the worker decides with its newest model snapshot). Several workers with "
                    "the same app id split the partitions. Also starts the profile side "
                    "(rtp profiles) unless --no-profiles. Stops gracefully on SIGTERM or "
                    "Ctrl-C (a final commit, then it leaves the group).")
    parser.add_argument("--app-id", default="rtp-personalize",
                        help="consumer group and changelog prefix (default rtp-personalize; "
                             "the topic prefix is prepended)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="RocksDB folder (default <cache>/worker/<app id>)")
    parser.add_argument("--commit-every", type=float, default=2.0,
                        help="seconds between commits: outputs acknowledged, changed "
                             "visitor states, input offsets; a crash "
                             "applies at most this much input again, never loses it "
                             "(default 2.0)")
    parser.add_argument("--wait-on-commits", dest="background_commits", action="store_false",
                        help="every commit holds the loop until its outputs, states and "
                             "offsets are acknowledged (the design before background "
                             "commits; for benchmark baselines). Default: commits run in the "
                             "background and the loop goes on deciding")
    parser.add_argument("--full-gc-every", type=float, default=600.0, metavar="SECONDS",
                        help="seconds between Python's full garbage collections (default "
                             "600; 0: never). The worker turns the automatic ones off: each "
                             "walks every cached visitor state and holds the event path for "
                             "up to a second, freeing nothing (the engine makes no cyclic "
                             "garbage); this one is a safety net, logged with what it freed")
    parser.add_argument("--python-gc", action="store_true",
                        help="leave Python's garbage collector at its own policy (automatic "
                             "full collections; for benchmark baselines)")
    parser.add_argument("--slow-turn-ms", type=float, default=0.0, metavar="MS",
                        help="log every turn of the consumer loop that holds it at least "
                             "this long, with the time of each phase (poll, apply, timers, "
                             "the commit's steps...; default 0: none). Every turn is counted "
                             "on /metrics anyway (rtp_worker_loop_turn_seconds)")
    parser.add_argument("--control-share", type=float, default=None,
                        help="share of people in the control group (default 0.10, or the "
                             "config file's; this flag wins over both)")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="config file (objective, experiments, consent mode, detectors, "
                             "rewards; see `rtp config check`), applied at start")
    parser.add_argument("--sweep-every", type=float, default=60.0,
                        help="seconds between deletions of expired visitor states (default 60)")
    parser.add_argument("--timers-idle-after", type=float, default=1.0, metavar="SECONDS",
                        help="detector timers (dwell hesitation, dead clicks) fire on the wall "
                             "clock only in a partition where nothing was applied for this "
                             "long; before that, at its newest event time, so records still "
                             "coming (a backlog, a replay) decide first and a re-run gives the "
                             "same outputs. A short timer may fire up to this late in a quiet "
                             "partition (default 1.0)")
    parser.add_argument("--client-id", default="rtp-worker",
                        help="Kafka client id of the worker's consumer (default rtp-worker; "
                             "`rtp ready --client-id` finds this member by it)")
    parser.add_argument("--web-port", type=int, default=0,
                        help="web port of the profile side started beside the worker (Faust's "
                             "web server: metrics, table views; default 0 = off)")
    parser.add_argument("--no-profiles", dest="profiles", action="store_false",
                        help="do not start the profile side beside the worker (run "
                             "`rtp profiles` separately)")
    parser.add_argument("--learner", action="store_true",
                        help="also start the learning service (rtp learner) beside the worker: "
                             "for one-worker setups such as the demo; a deployment runs one "
                             "`rtp learner` for all its workers")
    parser.add_argument("--consent", choices=("opt-in", "opt-out"), default=None,
                        help="consent mode: opt-in (no state, no decision without a consent "
                             "record) or opt-out; wins over the config file and "
                             "RTP_CONFIG__CONSENT__MODE and RTP_CONSENT_REQUIRED (default: "
                             "theirs, else opt-out)")
    # Test only, hidden from --help: rtp demo --story and the story tests pass it (see
    # pipeline/decide/story.py). Nothing else sets it: not the config file, not RTP_*.
    parser.add_argument("--story-override", default=None, metavar="PREFIX=ACTION,...",
                        help=argparse.SUPPRESS)
    add_common(parser)
    parser.set_defaults(handler=lambda args, settings: run_worker(settings, args))


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the worker dies, even by SIGKILL (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _start_child(settings: Settings, *args: str) -> subprocess.Popen[bytes]:
    """``rtp <args>`` as a child process with this worker's settings, ending with it."""
    env = {**os.environ, "RTP_TOPIC_PREFIX": settings.topic_prefix,
           "RTP_KAFKA_BOOTSTRAP": settings.bootstrap, "RTP_PARTITIONS": str(settings.partitions)}
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args],
                            env=env, preexec_fn=_die_with_parent)


def _stop_when_gone(child: subprocess.Popen[bytes], name: str, worker: Any,
                    stopped: threading.Event) -> None:
    """A child ended on its own: stop the worker too (exit 1), so that whatever supervises
    it (Kubernetes, systemd) restarts all rather than part of the pipeline."""
    code = child.wait()
    if not worker.loop.stopping:
        print(f"rtp worker: the {name} exited ({code}); stopping", file=sys.stderr)
        stopped.set()
        worker.loop.stop()


def story_override_of(args: argparse.Namespace) -> StoryOverride | None:
    """The test-only story override of ``rtp worker`` (None unless ``--story-override``).

    >>> story_override_of(argparse.Namespace(story_override=None)) is None
    True
    >>> story_override_of(argparse.Namespace(
    ...     story_override="story-ab12-=rooms_left_cue")).actions
    ('rooms_left_cue',)
    """
    from pipeline.decide.story import StoryOverride

    value = getattr(args, "story_override", None)
    return None if value is None else StoryOverride.parse(value)


def run_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Build the worker and run it in this process (and the profile side beside it)."""
    from pipeline.commands.config_file import engine_options_of
    from topologies.loop.gc_pauses import GcOptions
    from topologies.personalize import Worker, WorkerError, WorkerOptions

    if args.commit_every <= 0:
        raise SystemExit("rtp worker: --commit-every must be > 0 seconds")
    if args.timers_idle_after < 0:
        raise SystemExit("rtp worker: --timers-idle-after must be >= 0 seconds")
    if args.slow_turn_ms < 0:
        raise SystemExit("rtp worker: --slow-turn-ms must be >= 0 (0: none)")
    if args.full_gc_every < 0:
        raise SystemExit("rtp worker: --full-gc-every must be >= 0 seconds (0: never)")
    if args.control_share is not None and not 0.0 <= args.control_share < 1.0:
        raise SystemExit("rtp worker: --control-share must be within [0, 1)")
    config = getattr(args, "config", None)
    engine = engine_options_of(config, "rtp worker", getattr(args, "consent", None))
    defaults = WorkerOptions()
    options = dataclasses.replace(defaults, app_id=args.app_id, data_dir=args.data_dir,
                                  commit_every_seconds=args.commit_every,
                                  sweep_every_seconds=args.sweep_every,
                                  timers_idle_seconds=args.timers_idle_after,
                                  consumer=dataclasses.replace(
                                      defaults.consumer, client_id=args.client_id,
                                      background_commits=args.background_commits),
                                  story=story_override_of(args),
                                  gc=GcOptions(full_every_s=args.full_gc_every,
                                               python_default=args.python_gc),
                                  slow_turn_ms=args.slow_turn_ms)
    if args.control_share is not None:
        engine = dataclasses.replace(engine, decider=dataclasses.replace(
            engine.decider, control_share=args.control_share))
    log.info("engine configured", config=str(config) if config else None,
             control_share=engine.decider.control_share,
             consent_required=engine.profiles.consent_required)
    worker = Worker(settings, options, engine)
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    if args.profiles:
        children.append(("profile side", _start_child(
            settings, "profiles", "--group", worker.group,
            "--data-dir", str(options.folder(settings) / "profiles"),
            "--web-port", str(args.web_port),
            *(["--config", str(config)] if config is not None else []),
            # The profile side computes the views that grant consent: the same mode.
            "--consent", "opt-in" if engine.profiles.consent_required else "opt-out")))
    if args.learner:
        children.append(("learner", _start_child(
            settings, "learner", *(["--config", str(config)] if config is not None else []))))
    gone = threading.Event()
    for name, child in children:
        threading.Thread(target=_stop_when_gone, args=(child, name, worker, gone),
                         daemon=True).start()
    try:
        code = worker.run()
        return 1 if gone.is_set() else code
    except WorkerError as exc:
        print(f"rtp worker: {exc}", file=sys.stderr)
        return 2
    finally:
        for _, child in children:
            if child.poll() is None:
                child.terminate()
        for _, child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
