"""The live console: experiment lift over time, decisions per second, event→action p99,
struggle signals by rule, per-action performance beside the catalog, dead letters by reason.

``rtp console`` reads the topics in a background thread (:mod:`pipeline.console.feed`)
into a pure aggregate (:mod:`pipeline.console.tally`, the experiment figures from the
report's own code in :mod:`pipeline.console.experiment`) and serves one static page that
renders ``/v1/console`` (:mod:`pipeline.console.app`); ``/metrics`` gives the same
figures to Prometheus (:mod:`pipeline.console.metrics`).

>>> ConsoleOptions().http_port
8702
"""

from pipeline.console.options import ConsoleOptions
from pipeline.console.service import ConsoleService, run_console
from pipeline.console.tally import ConsoleTally

__all__ = ["ConsoleOptions", "ConsoleService", "ConsoleTally", "run_console"]
