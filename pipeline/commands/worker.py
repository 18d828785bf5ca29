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
from typing import Any

import structlog

from pipeline.settings import Settings

__all__ = ["register", "run_worker"]

log = structlog.get_logger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp worker`` to the CLI."""
    parser = sub.add_parser(
        "worker", help="run the personalization worker until SIGTERM/SIGINT",
        description="Consume clickstream.events, personalization.outcomes and the profile "
                    "views; sessionize, detect struggle, score intent, decide, learn; write "
                    "actions, the decision log and signals. Several workers with the same app "
                    "id split the partitions. Also starts the profile side (rtp profiles) "
                    "unless --no-profiles. Stops gracefully on SIGTERM or Ctrl-C (a final "
                    "commit, then it leaves the group).")
    parser.add_argument("--app-id", default="rtp-personalize",
                        help="consumer group and changelog prefix (default rtp-personalize; "
                             "the topic prefix is prepended)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="RocksDB folder (default <cache>/worker/<app id>)")
    parser.add_argument("--commit-every", type=float, default=2.0,
                        help="seconds between commits: outputs acknowledged, learner "
                             "checkpoint, changed visitor states, input offsets; a crash "
                             "applies at most this much input again, never loses it "
                             "(default 2.0)")
    parser.add_argument("--control-share", type=float, default=None,
                        help="share of people in the control group (default 0.10, or the "
                             "config file's; this flag wins over both)")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="config file (objective, experiments, consent mode, detectors, "
                             "rewards; see `rtp config check`), applied at start")
    parser.add_argument("--sweep-every", type=float, default=60.0,
                        help="seconds between deletions of expired visitor states (default 60)")
    parser.add_argument("--client-id", default="rtp-worker",
                        help="Kafka client id of the worker's consumer (default rtp-worker; "
                             "`rtp ready --client-id` finds this member by it)")
    parser.add_argument("--web-port", type=int, default=0,
                        help="web port of the profile side started beside the worker (Faust's "
                             "web server: metrics, table views; default 0 = off)")
    parser.add_argument("--no-profiles", dest="profiles", action="store_false",
                        help="do not start the profile side beside the worker (run "
                             "`rtp profiles` separately)")
    add_common(parser)
    parser.set_defaults(handler=lambda args, settings: run_worker(settings, args))


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the worker dies, even by SIGKILL (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _start_profiles(settings: Settings, group: str, data_dir: Path,
                    web_port: int, config: Path | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RTP_TOPIC_PREFIX": settings.topic_prefix,
           "RTP_KAFKA_BOOTSTRAP": settings.bootstrap, "RTP_PARTITIONS": str(settings.partitions)}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "profiles", "--group", group,
         "--data-dir", str(data_dir), "--web-port", str(web_port),
         *(["--config", str(config)] if config is not None else [])],
        env=env, preexec_fn=_die_with_parent)


def _stop_when_gone(profiles: subprocess.Popen[bytes], worker: Any,
                    stopped: threading.Event) -> None:
    """The profile side ended on its own: stop the worker too (exit 1), so that whatever
    supervises it (Kubernetes, systemd) restarts both rather than half of the pipeline."""
    code = profiles.wait()
    if not worker.loop.stopping:
        print(f"rtp worker: the profile side exited ({code}); stopping", file=sys.stderr)
        stopped.set()
        worker.loop.stop()


def run_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Build the worker and run it in this process (and the profile side beside it)."""
    from pipeline.config import ConfigError, engine_options, load_config
    from pipeline.engine import EngineOptions
    from topologies.personalize import Worker, WorkerError, WorkerOptions

    if args.commit_every <= 0:
        raise SystemExit("rtp worker: --commit-every must be > 0 seconds")
    if args.control_share is not None and not 0.0 <= args.control_share < 1.0:
        raise SystemExit("rtp worker: --control-share must be within [0, 1)")
    config = getattr(args, "config", None)
    try:
        engine = engine_options(load_config(config)) if config is not None else EngineOptions()
    except ConfigError as exc:
        print(f"rtp worker: {exc}", file=sys.stderr)
        return 2
    defaults = WorkerOptions()
    options = dataclasses.replace(defaults, app_id=args.app_id, data_dir=args.data_dir,
                                  commit_every_seconds=args.commit_every,
                                  sweep_every_seconds=args.sweep_every,
                                  consumer=dataclasses.replace(defaults.consumer,
                                                               client_id=args.client_id))
    if args.control_share is not None:
        engine = dataclasses.replace(engine, decider=dataclasses.replace(
            engine.decider, control_share=args.control_share))
    log.info("engine configured", config=str(config) if config else None,
             control_share=engine.decider.control_share,
             consent_required=engine.profiles.consent_required)
    worker = Worker(settings, options, engine)
    profiles, gone = None, threading.Event()
    if args.profiles:
        profiles = _start_profiles(settings, worker.group, options.folder(settings) / "profiles",
                                   args.web_port, config)
        threading.Thread(target=_stop_when_gone, args=(profiles, worker, gone),
                         daemon=True).start()
    try:
        code = worker.run()
        return 1 if gone.is_set() else code
    except WorkerError as exc:
        print(f"rtp worker: {exc}", file=sys.stderr)
        return 2
    finally:
        if profiles is not None and profiles.poll() is None:
            profiles.terminate()
            try:
                profiles.wait(30)
            except subprocess.TimeoutExpired:
                profiles.kill()
