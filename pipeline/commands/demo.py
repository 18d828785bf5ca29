"""``rtp demo``: the main job end to end on a local broker.

Starts the broker if none answers (or uses ``RTP_KAFKA_BOOTSTRAP``), applies the
topics, starts personalization worker process(es), runs the closed-loop
simulator for a configurable time with a progress display, prints the summary
(events/s, decisions per action, signals per rule, event->action latency,
personalized vs control conversion with a 95% interval, reward vs oracle), and
shuts everything down cleanly.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipeline.commands.broker_session import broker_for_job
from pipeline.commands.world_args import add_world_arguments, world_options
from pipeline.processes import WebProcess, WorkerProcess, wait_caught_up
from pipeline.settings import Settings
from pipeline.sim.closed_loop import ClosedLoop, LoopOptions, LoopReport
from pipeline.sim.options import SimulatorOptions
from pipeline.stories.drive import StoryResult

__all__ = ["DemoOptions", "register", "run_demo", "run_story"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp demo`` to the CLI."""
    parser = sub.add_parser(
        "demo", help="run the main job end to end on the local broker",
        description="Start the local broker if none answers (or use RTP_KAFKA_BOOTSTRAP), apply "
                    "topics, start the worker(s), run the closed-loop simulator, print a "
                    "summary, stop what it started.")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="wall-clock run time of the simulator (default 60)")
    parser.add_argument("--speed", type=float, default=10.0,
                        help="simulated seconds per second (default 10: one minute runs ten "
                             "minutes of traffic)")
    parser.add_argument("--visitors-per-minute", type=float, default=40.0,
                        help="simulated arrival rate (default 40, about 250 events/s at "
                             "speed 10: what one worker serves with low latency on 2 cores)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--control-share", type=float, default=0.5,
                        help="share of visitors in the control group (default 0.5 here, so a "
                             "short run compares two arms of equal size; production: 0.10)")
    parser.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")
    parser.add_argument("--keep-broker", action="store_true",
                        help="leave a broker this demo started running")
    parser.add_argument("--no-web", action="store_true",
                        help="do not start the delivery service, collector and storefront")
    parser.add_argument("--story", choices=("headphones", "saas", "travel", "finance"),
                        default=None,
                        help="instead of the simulator, drive one scripted visitor of the seed's "
                             "story through the real web tier and worker and print, step by "
                             "step, what was detected, decided and served (the worker runs "
                             "with a test-only override for that visitor: personalized arm, "
                             "the story's action when eligible); exit 1 if it was not served. "
                             "Only --keep-broker applies with it")
    parser.add_argument("--stay", action="store_true",
                        help="after the summary keep the worker and the storefront running "
                             "until Ctrl-C or SIGTERM, to try the storefront by hand")
    add_world_arguments(parser)
    add_common(parser)
    parser.set_defaults(handler=lambda args, settings: (0 if run_story(
        settings, args.story, keep_broker=args.keep_broker).shown else 1) if args.story else
        0 if run_demo(settings, DemoOptions(
        seconds=args.seconds, speed=args.speed, visitors_per_minute=args.visitors_per_minute,
        workers=args.workers, seed=args.seed, keep_broker=args.keep_broker,
        web=not args.no_web, stay=args.stay,
        control_share=args.control_share, **world_options(parser, args))).decisions_logged
        else 1)


class DemoOptions:
    """The demo's knobs (see ``rtp demo --help``)."""

    def __init__(self, seconds: float = 60.0, speed: float = 10.0,
                 visitors_per_minute: float = 40.0, workers: int = 1, seed: int = 7,
                 keep_broker: bool = False, web: bool = True, stay: bool = False,
                 control_share: float = 0.5, world: str = "classic",
                 drift_after_ms: int | None = None) -> None:
        self.seconds, self.speed = seconds, speed
        self.visitors_per_minute, self.workers = visitors_per_minute, workers
        self.seed, self.keep_broker = seed, keep_broker
        self.web, self.stay = web, stay
        self.control_share = control_share
        self.world, self.drift_after_ms = world, drift_after_ms  # the simulated world


class DemoStopped(SystemExit):
    """SIGTERM arrived: the demo stops what it started and exits (status 143, as a process
    ended by SIGTERM reports itself), unless it was only waiting (``--stay``)."""


@contextlib.contextmanager
def _sigterm_stops() -> Iterator[None]:
    """SIGTERM raises :class:`DemoStopped` in the main thread (like Ctrl-C raises
    KeyboardInterrupt), so the ``finally`` that stops the worker(s) and the web tier runs;
    without it the default action ends this process and leaves its children running."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def stop(signum: int, _: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the cleanup
        raise DemoStopped(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_demo(settings: Settings, options: DemoOptions | None = None,
             echo: Callable[[str], None] = print) -> LoopReport:
    """Run the whole loop once and return what it measured."""
    options = options or DemoOptions()
    with _sigterm_stops():
        return _run_demo(settings, options, echo)


def _run_demo(settings: Settings, options: DemoOptions,
              echo: Callable[[str], None]) -> LoopReport:
    run = uuid.uuid4().hex[:6]
    logs = settings.cache_dir / "demo" / run
    logs.mkdir(parents=True, exist_ok=True)
    # Each run has its own topics (and so a fresh worker group and learner): the summary
    # is this run's alone, with no backlog of earlier runs to chew through first.
    settings = dataclasses.replace(settings, topic_prefix=f"{settings.topic_prefix}demo-{run}.")
    echo(f"demo run {run}: topics under the prefix {settings.topic_prefix}")
    with broker_for_job(settings, echo=echo, keep_running=options.keep_broker):
        workers = [WorkerProcess(settings, logs / f"worker-{i}-data",
                                 logs / f"worker-{i}.log", commit_every=2.0,
                                 control_share=options.control_share)
                   for i in range(options.workers)]
        web = WebProcess(settings, logs / "web.log") if options.web else None
        try:
            echo(f"starting {len(workers)} worker(s); logs in {logs}")
            for worker in workers:
                worker.wait_ready()
            if web is not None:
                web.wait_ready()
                for line in web.describe():
                    echo(line)
            echo(f"workers ready; simulating {options.seconds * options.speed / 60:.0f} min of "
                 f"traffic in {options.seconds:.0f} s")
            loop = ClosedLoop(
                settings,
                SimulatorOptions(seed=options.seed, id_prefix=f"demo{run}",
                                 visitors_per_minute=options.visitors_per_minute,
                                 world=options.world, drift_after_ms=options.drift_after_ms),
                LoopOptions(duration_s=options.seconds, speed=options.speed,
                            control_share=options.control_share),
                progress=echo)
            report = loop.run()
            # The summary as soon as the run is done (with --stay, before the wait).
            _summarize(settings, report, logs, echo, workers)
            if options.stay and web is not None:
                echo(f"still serving {web.url}/shop/ with the worker; Ctrl-C or SIGTERM "
                     "to stop")
                with contextlib.suppress(KeyboardInterrupt, DemoStopped):
                    web.proc.wait()
        finally:
            stoppable: list[WorkerProcess | WebProcess] = [*workers]
            if web is not None:
                stoppable.append(web)
            for process in stoppable:
                with contextlib.suppress(Exception):
                    process.stop()
    return report


def run_story(settings: Settings, name: str, keep_broker: bool = False,
              echo: Callable[[str], None] = print) -> StoryResult:
    """``rtp demo --story NAME``: one scripted visitor of a seed story through the real
    broker, worker (with the story override for this run's visitors) and web tier."""
    from pipeline.decide import StoryOverride, assign_arm, load_catalog
    from pipeline.engine import EngineOptions
    from pipeline.stories import STORIES
    from pipeline.stories.drive import StoryWeb, drive_story
    from pipeline.web.visitor_token import new_key

    story = STORIES[name]
    run = uuid.uuid4().hex[:6]
    logs = settings.cache_dir / "demo" / f"story-{run}"
    logs.mkdir(parents=True, exist_ok=True)
    settings = dataclasses.replace(settings, topic_prefix=f"{settings.topic_prefix}demo-{run}.",
                                   visitor_token_keys=new_key())
    prefix = f"story-{run}-"
    visitor = f"{prefix}{name}"
    echo(f"story {name}: {story.seed}")
    echo(f"the seed's action: {story.action} in the {story.slot} slot "
         f"(\"{story.proof}\")")
    echo(f"run {run}: topics under {settings.topic_prefix}; logs in {logs}")
    with _sigterm_stops(), broker_for_job(settings, echo=echo, keep_running=keep_broker):
        # The production control share (10%); the override puts this run's visitors (and only
        # them) in the personalized arm and picks the story's action when it is eligible.
        worker = WorkerProcess(settings, logs / "worker-data", logs / "worker.log",
                               commit_every=0.5, control_share=None, profiles=False,
                               learner=False, story=StoryOverride(prefix, (story.action,)))
        web = WebProcess(settings, logs / "web.log")
        try:
            worker.wait_ready()
            web.wait_ready()
            echo(f"worker and web tier ready ({web.url}/shop/); visitor {visitor} "
                 f"(story override: personalized arm, {story.action} when eligible; "
                 f"without it this visitor would be in the "
                 f"{assign_arm(visitor, EngineOptions().decider.control_share)} arm and the "
                 "bandit would draw among the eligible actions)")
            echo("")
            result = drive_story(settings, story, visitor, StoryWeb(
                web.url, web.collector_url, web.write_key, settings.token_keys()),
                worker, load_catalog(EngineOptions().catalog_path), echo)
        finally:
            for process in (worker, web):
                with contextlib.suppress(Exception):
                    process.stop()
    echo("")
    echo(f"signals fired: {', '.join(result.signals) or 'none'}; "
         f"actions decided: {', '.join(result.actions) or 'none'}")
    echo(f"the seed's action {story.action}: "
         + ("served by delivery in the " + story.slot + " slot" if result.shown
            else "NOT served (see the steps above and the worker's log)"))
    return result


def _summarize(settings: Settings, report: LoopReport, logs: Path,
               echo: Callable[[str], None], workers: list[WorkerProcess] | None = None) -> None:
    """Let the workers catch up, export the run, print and save the summary, write the
    experiment report.

    The summary's conversion line counts the visitors of the exported decision log — the
    ones the experiment report counts — with the simulator's truth (bought or not), so the
    two can be compared visitor for visitor: the report's conversions come from the
    purchases the worker forwarded, attributed to those visitors' decisions.
    """
    from pipeline.topics import EVENTS, OUTCOMES

    if workers:
        try:  # everything sent is applied: the export holds every purchase and decision
            wait_caught_up(workers[0], [settings.topic(EVENTS), settings.topic(OUTCOMES)])
        except TimeoutError as exc:
            echo(f"(the worker has not caught up: {exc}; the report may miss the last records)")
    exported = _export(settings, logs, echo)
    if exported is not None:
        report.logged_visitors = _visitors_of(exported[0])
    echo("")
    echo("== rtp demo summary ==")
    echo(report.to_text())
    _write_report(report, logs / "summary.txt")
    echo(f"(summary saved to {logs / 'summary.txt'})")
    html = None if exported is None else _experiment_report(*exported, logs, echo)
    if html is not None:
        # Each logged decision records the run's control share: the command needs no flag.
        echo(f"experiment report: {html}  (rtp report {logs / 'decisions.jsonl'} "
             f"{logs / 'outcomes.jsonl'} --purchases {logs / 'purchases.jsonl'})")


def _export(settings: Settings, folder: Path,
            echo: Callable[[str], None]) -> tuple[Path, Path, Path] | None:
    """This run's decision log, outcomes and the purchases the worker accepted, as files."""
    from pipeline.replay import ReplayError
    from pipeline.replay.sources import export_purchases, export_topics

    try:
        log_path, outcomes_path = export_topics(settings, folder, idle_timeout_s=5.0)
        return log_path, outcomes_path, export_purchases(settings, folder, idle_timeout_s=5.0)
    except (ReplayError, OSError) as exc:  # the demo's own summary is printed anyway
        echo(f"no export of the run: {exc}")
        return None


def _visitors_of(log_path: Path) -> set[str]:
    from pipeline.replay.logfile import iter_records

    return {str(log["decision"]["visitor_id"]) for log in iter_records(log_path, "DecisionLog")}


def _experiment_report(log_path: Path, outcomes_path: Path, purchases_path: Path,
                       folder: Path, echo: Callable[[str], None]) -> Path | None:
    """Write the HTML experiment report of the exported run.

    The control share is read from the log (every decision records it), as the printed
    ``rtp report`` command does; conversions are the purchases the worker accepted,
    attributed to the visitors' decisions of either arm.
    """
    from pipeline.replay import ReplayError, build_report

    try:
        report = build_report(log_path, outcomes_path, purchases_path=purchases_path)
        return report.write_html(folder / "report.html")
    except (ReplayError, OSError) as exc:  # the demo's own summary is already printed
        echo(f"no experiment report: {exc}")
        return None


def _write_report(report: LoopReport, path: Path) -> None:
    path.write_text(report.to_text() + "\n" + report.summary.to_text() + "\n"
                    + f"written {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
