"""Offline tools for analysts: log files, joins, off-policy evaluation, experiment reports.

Pure Python and file based (no Kafka): read a decision log and its outcomes
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

from pipeline.replay.errors import (
    EmptyLog,
    InvalidOptions,
    InvalidPropensity,
    InvalidTargetPolicy,
    LogFormatError,
    MissingPropensity,
    ObdFormatError,
    ReplayError,
    UnknownTarget,
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
from pipeline.replay.policies import (
    RewardPredictor,
    TargetPolicy,
    always_policy,
    greedy_policy,
    logged_policy,
    target_policy,
    uniform_policy,
)
from pipeline.replay.report import (
    Report,
    ReportOptions,
    build_report,
    build_report_from_rows,
    read_page_views,
)
from pipeline.replay.reward_model import RewardModelOptions, fit_reward_model
from pipeline.replay.synthetic import SyntheticLog, SyntheticOptions, generate_synthetic_log

__all__ = [
    "ESTIMATORS",
    "EmptyLog",
    "Estimate",
    "EvaluationResult",
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
    "ReplayError",
    "ReplayWarning",
    "Report",
    "ReportOptions",
    "RewardModelOptions",
    "RewardPredictor",
    "RewardWeights",
    "SyntheticLog",
    "SyntheticOptions",
    "TargetPolicy",
    "UnknownTarget",
    "UnsupportedLogFormat",
    "WeightDiagnostics",
    "always_policy",
    "build_report",
    "build_report_from_rows",
    "compare_obd",
    "effective_sample_size",
    "evaluate",
    "evaluate_rows",
    "fit_reward_model",
    "generate_synthetic_log",
    "greedy_policy",
    "import_obd",
    "iter_records",
    "join_files",
    "join_records",
    "logged_policy",
    "read_decision_logs",
    "read_obd",
    "read_outcomes",
    "read_page_views",
    "target_policy",
    "uniform_policy",
    "write_decision_logs",
    "write_outcomes",
]
