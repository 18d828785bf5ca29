"""What the web tier sees, and the plumbing rtp's HTTP services share.

``static/`` holds the tracker script (``rtp.js``, readable ES5, and ``rtp.min.js``,
its minified build: :mod:`pipeline.web.minify`) and the demo storefront (``shop/``),
plain files. The Python modules are small shared
pieces of the delivery service and the collector: options from ``RTP_*``
variables, Prometheus metrics (prometheus_client), a CORS allow-list, and serving an aiohttp
app until SIGTERM/SIGINT.

>>> (STATIC_DIR / "rtp.js").is_file() and (STATIC_DIR / "shop" / "index.html").is_file()
True
"""

from pathlib import Path

from pipeline.web.cors import CorsPolicy, cors_middleware, install_cors
from pipeline.web.env import OptionsError, options_from_env
from pipeline.web.metrics import CONTENT_TYPE, ReadCounter, new_registry, render
from pipeline.web.request_metrics import request_metrics_middleware
from pipeline.web.serve import ServedApp, serve_until_stopped, start_app, stop_on_signals
from pipeline.web.untrusted import bad_string, finite_number, id_problem, path_guard

__all__ = [
    "CONTENT_TYPE",
    "STATIC_DIR",
    "CorsPolicy",
    "OptionsError",
    "ReadCounter",
    "ServedApp",
    "bad_string",
    "cors_middleware",
    "finite_number",
    "id_problem",
    "install_cors",
    "new_registry",
    "options_from_env",
    "path_guard",
    "render",
    "request_metrics_middleware",
    "serve_until_stopped",
    "start_app",
    "stop_on_signals",
]

#: The tracker script and the demo storefront.
STATIC_DIR = Path(__file__).resolve().parent / "static"
