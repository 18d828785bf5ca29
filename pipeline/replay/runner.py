"""One replay end to end: inputs (files or topics) -> merged stream -> replayer -> outputs.

:func:`file_records` and :func:`~pipeline.replay.sources.topic_sources` give the
merged stream; :func:`run_replay` drives a :class:`~pipeline.replay.engine.Replayer`
over it into a sink, writes ``metrics.json`` beside the outputs, and aborts the
partial outputs if anything fails.

>>> import tempfile, pathlib, json
>>> from pipeline.client import click_event
>>> from pipeline.engine import EngineOptions
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> events = folder / "events.jsonl"
>>> _ = events.write_text("".join(json.dumps(click_event("v1", "page_view",
...     1_800_000_000_000 + i * 60_000)) + "\\n" for i in range(3)))
>>> run = run_replay(file_records(FileInputs(events)), EngineOptions(), folder / "out")
>>> run.metrics.decisions, sorted(p.name for p in (folder / "out").iterdir())
(3, ['dead_letters.jsonl', 'decisions.jsonl', 'metrics.json', 'signals.jsonl'])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.engine import EngineOptions
from pipeline.learning import Model
from pipeline.replay.bounds import RangeBound
from pipeline.replay.engine import Replayer, ReplayMetrics, ReplayOptions
from pipeline.replay.progress import Progress
from pipeline.replay.sinks import FileSink, OutputFormat, ReplaySink
from pipeline.replay.sources import SourceRecord, merge_sources, read_file, select_events
from pipeline.serde import Codec

__all__ = ["FileInputs", "ReplayRun", "file_records", "run_replay"]


@dataclass(frozen=True)
class FileInputs:
    """The files of a replay: events, and optionally outcomes, profile updates, logged decisions.

    >>> FileInputs(Path("e.jsonl")).outcomes is None
    True
    """

    events: Path
    outcomes: Path | None = None
    profiles: Path | None = None
    logged_decisions: Path | None = None


def file_records(inputs: FileInputs, start: RangeBound | None = None,
                 end: RangeBound | None = None, limit: int | None = None,
                 codec: Codec | None = None) -> Iterator[SourceRecord]:
    """The merged stream of a file replay; ``start``/``end``/``limit`` select events only.

    Every file is opened (and a missing or unreadable one reported) before the
    first record is yielded.
    """
    c = codec or Codec.default()
    events = select_events(read_file(inputs.events, "ClickEvent", c), start, end)
    others = [read_file(path, kind, c) for path, kind in (
        (inputs.profiles, "ProfileUpdate"), (inputs.logged_decisions, "DecisionLog"),
        (inputs.outcomes, "Outcome")) if path is not None]
    return merge_sources([events], others, limit)


@dataclass(frozen=True)
class ReplayRun:
    """What a replay produced: metrics, where outputs went, and how fast it ran.

    ``elapsed_s`` and ``events_per_s`` are wall-clock facts about the run: they
    are printed and written only on request (``--timing``), never into the
    deterministic outputs.
    """

    metrics: ReplayMetrics
    outputs: dict[str, str]
    elapsed_s: float
    events_per_s: float
    #: The model the replay ended with (the pinned one, unchanged, with ``--model``).
    model: Model | None = None


def run_replay(records: Iterable[SourceRecord], engine_options: EngineOptions,
               out_dir: str | Path, fmt: OutputFormat = "jsonl", sink: ReplaySink | None = None,
               options: ReplayOptions | None = None, progress: Progress | None = None,
               codec: Codec | None = None, model: Model | None = None) -> ReplayRun:
    """Replay ``records`` into ``sink`` (default: files in ``out_dir``) and write ``metrics.json``.

    ``model``: a snapshot to decide with throughout, learning nothing
    (:mod:`pipeline.replay.pinned_model`); default: an untrained model that learns as it goes.

    On any exception the partial outputs are removed and the exception re-raised.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    c = codec or Codec.default()
    target = sink if sink is not None else FileSink(out, fmt, c)
    bar = progress if progress is not None else Progress(quiet=True)
    replayer = Replayer(engine_options, target, options, c, model)
    try:
        metrics = replayer.run(records, bar.update)
        outputs = target.close()
    except BaseException:
        target.abort()
        raise
    bar.finish(metrics.events_read)
    metrics_path = out / "metrics.json"
    tmp = metrics_path.with_name(".metrics.json.tmp")
    tmp.write_text(metrics.to_json(), encoding="utf-8")
    tmp.replace(metrics_path)
    outputs["metrics"] = str(metrics_path)
    return ReplayRun(metrics, outputs, bar.elapsed_s, bar.rate, replayer.engine.model)
