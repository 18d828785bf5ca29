"""Offline tools for analysts: replay, log files, joins, off-policy evaluation, experiment reports.

Replay (:func:`run_replay`, ``rtp replay``) runs the worker's engine over a
recorded stream, from files or a topic range (:mod:`pipeline.replay.sources`,
the only part that talks to Kafka), with a candidate configuration if asked
(:func:`engine_options`), into byte-reproducible files. The rest is pure Python
and file based: read a decision log and its outcomes
(JSON lines or Avro), estimate what another policy would have earned (IPS,
SNIPS, doubly robust, replay) with bootstrap intervals and weight diagnostics,
check the estimators on the Open Bandit Dataset, and report personalized vs
control with lifts, a sample-ratio check, breakdowns and an HTML page.

>>> from pipeline.replay import SyntheticOptions, generate_synthetic_log, join_records
>>> from pipeline.replay import evaluate_rows, uniform_policy
>>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=300, seed=1))
>>> result = evaluate_rows(join_records(syn.logs, syn.outcomes).rows, uniform_policy,
...                        "uniform", estimators=("ips", "snips"), n_boot=100)
>>> [e.estimator for e in result.estimates]
['ips', 'snips']
"""

from pipeline.replay.attribution import (
    Attribution,
    AttributionOptions,
    Purchase,
    attribute,
    read_purchases,
)
from pipeline.replay.bounds import RangeBound, parse_bound
from pipeline.replay.control_share import ControlShare, resolve_control_share
from pipeline.replay.cuped import CupedLift, CupedUnavailable, cuped_lift
from pipeline.replay.engine import Replayer, ReplayMetrics, ReplayOptions, replay
from pipeline.replay.errors import (
    EmptyLog,
    InvalidOptions,
    InvalidPropensity,
    InvalidTargetPolicy,
    LogFormatError,
    MissingPropensity,
    ObdFormatError,
    OptionsOverrideError,
    ReplayError,
    ReplaySourceError,
    UnknownControlShare,
    UnknownTarget,
    UnknownTargetAction,
    UnsupportedLogFormat,
)
from pipeline.replay.intervals import Interval
from pipeline.replay.join import JoinedRow, JoinResult, RewardWeights, join_files, join_records
from pipeline.replay.logfile import (
    LogFileOptions,
    iter_records,
    read_decision_logs,
    read_outcomes,
    write_decision_logs,
    write_outcomes,
)
from pipeline.replay.notices import ReplayWarning
from pipeline.replay.obd import (
    ImportResult,
    ObdComparison,
    compare_obd,
    import_obd,
    read_obd,
)
from pipeline.replay.ope import (
    ESTIMATORS,
    Estimate,
    EvaluationResult,
    OpeOptions,
    WeightDiagnostics,
    effective_sample_size,
    evaluate,
    evaluate_rows,
)
from pipeline.replay.overrides import apply_overrides, engine_options, load_overrides
from pipeline.replay.policies import (
    RewardPredictor,
    TargetPolicy,
    always_policy,
    greedy_policy,
    logged_policy,
    target_policy,
    uniform_policy,
)
from pipeline.replay.progress import Progress
from pipeline.replay.report import (
    Report,
    ReportOptions,
    build_report,
    build_report_from_rows,
    read_page_views,
)
from pipeline.replay.reward_model import RewardModelOptions, fit_reward_model
from pipeline.replay.runner import FileInputs, ReplayRun, file_records, run_replay
from pipeline.replay.sinks import FileSink, RecordWriter, ReplaySink, TopicSink
from pipeline.replay.sources import (
    SourceRecord,
    export_topics,
    merge_sources,
    read_file,
    topic_sources,
)
from pipeline.replay.synthetic import SyntheticLog, SyntheticOptions, generate_synthetic_log

__all__ = [
    "ESTIMATORS",
    "Attribution",
    "AttributionOptions",
    "ControlShare",
    "CupedLift",
    "CupedUnavailable",
    "EmptyLog",
    "Estimate",
    "EvaluationResult",
    "FileInputs",
    "FileSink",
    "ImportResult",
    "Interval",
    "InvalidOptions",
    "InvalidPropensity",
    "InvalidTargetPolicy",
    "JoinResult",
    "JoinedRow",
    "LogFileOptions",
    "LogFormatError",
    "MissingPropensity",
    "ObdComparison",
    "ObdFormatError",
    "OpeOptions",
    "OptionsOverrideError",
    "Progress",
    "Purchase",
    "RangeBound",
    "RecordWriter",
    "ReplayError",
    "ReplayMetrics",
    "ReplayOptions",
    "ReplayRun",
    "ReplaySink",
    "ReplaySourceError",
    "ReplayWarning",
    "Replayer",
    "Report",
    "ReportOptions",
    "RewardModelOptions",
    "RewardPredictor",
    "RewardWeights",
    "SourceRecord",
    "SyntheticLog",
    "SyntheticOptions",
    "TargetPolicy",
    "TopicSink",
    "UnknownControlShare",
    "UnknownTarget",
    "UnknownTargetAction",
    "UnsupportedLogFormat",
    "WeightDiagnostics",
    "always_policy",
    "apply_overrides",
    "attribute",
    "build_report",
    "build_report_from_rows",
    "compare_obd",
    "cuped_lift",
    "effective_sample_size",
    "engine_options",
    "evaluate",
    "evaluate_rows",
    "export_topics",
    "file_records",
    "fit_reward_model",
    "generate_synthetic_log",
    "greedy_policy",
    "import_obd",
    "iter_records",
    "join_files",
    "join_records",
    "load_overrides",
    "logged_policy",
    "merge_sources",
    "parse_bound",
    "read_decision_logs",
    "read_file",
    "read_obd",
    "read_outcomes",
    "read_page_views",
    "read_purchases",
    "replay",
    "resolve_control_share",
    "run_replay",
    "target_policy",
    "topic_sources",
    "uniform_policy",
    "write_decision_logs",
    "write_outcomes",
]
