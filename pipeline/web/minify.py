"""The tracker's minified build: ``static/rtp.js`` -> ``static/rtp.min.js``, the file pages load.

The source stays readable ES5; the build is terser's (compressed, local names shortened,
globals and properties kept), run by Node.js through ``minify.mjs`` beside this module.
terser and acorn are pinned in the repository's ``package.json``/``package-lock.json``
(``npm ci``, which ``make js`` and CI run; development tools only: the service serves the
built file, which is committed). The source and the build must both parse as ES5.
``make js`` (or ``python -m pipeline.web.minify``) rebuilds it and prints its sizes; a unit
test fails while the committed build is not the source's.

>>> minify_js("function add(first, second) { var total = first + second; return total; }")
'function add(n,d){return n+d}'
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.web import STATIC_DIR

__all__ = ["BANNER", "MINIFIED", "MINIFIER", "SOURCE", "BuildError", "BuildSizes",
           "build_tracker", "minify_js", "tracker_sizes"]

#: The readable tracker and its minified build.
SOURCE = STATIC_DIR / "rtp.js"
MINIFIED = STATIC_DIR / "rtp.min.js"
#: The first line of the build (the source's own comments are dropped).
BANNER = "/*! rtp.js, built from /rtp.src.js */\n"
#: The Node.js script that runs terser (reads the source on stdin, writes the build).
MINIFIER = Path(__file__).with_name("minify.mjs")


class BuildError(RuntimeError):
    """The build could not be made: no Node.js, terser not installed, or the source is not ES5."""


def minify_js(source: str) -> str:
    """``source`` (ES5) minified by terser: no comments or needless characters, dead code
    dropped, local names shortened (globals and properties kept). Raises
    :class:`BuildError` when the source (or the build) is not ES5.

    >>> minify_js("var x = 1; // one")
    'var x=1;'
    >>> minify_js("let x = 1;")
    Traceback (most recent call last):
    ...
    pipeline.web.minify.BuildError: the source is not ES5: Unexpected token (1:4)
    """
    node = shutil.which("node")
    if node is None:
        raise BuildError("the tracker's build needs Node.js (apt-get install nodejs npm), "
                         "then `npm ci` in the repository")
    done = subprocess.run([node, str(MINIFIER)], input=source, capture_output=True,
                          encoding="utf-8", check=False)
    if done.returncode != 0:
        message = done.stderr.strip() or f"exit status {done.returncode}"
        if "Cannot find package" in message or "ERR_MODULE_NOT_FOUND" in message:
            message = "terser is not installed: run `npm ci` in the repository\n" + message
        raise BuildError(message)
    return done.stdout


@dataclass(frozen=True)
class BuildSizes:
    """Bytes of the source and of the build, plain and gzipped (level 9).

    >>> BuildSizes(100, 40, 60, 30).gzipped_kb
    0.03
    """

    source: int
    source_gzipped: int
    minified: int
    minified_gzipped: int

    @property
    def gzipped_kb(self) -> float:
        """The build gzipped, in KB (1,000 bytes), to two decimals."""
        return round(self.minified_gzipped / 1000, 2)


def tracker_sizes(source: str, minified: str) -> BuildSizes:
    """Sizes of ``source`` and ``minified`` (UTF-8).

    >>> tracker_sizes("var x = 1;", "var x=1;").minified
    8
    """
    src, out = source.encode(), minified.encode()
    return BuildSizes(len(src), len(gzip.compress(src, 9, mtime=0)), len(out),
                      len(gzip.compress(out, 9, mtime=0)))


def build_tracker(source: Path = SOURCE, target: Path = MINIFIED) -> BuildSizes:
    """Write the build of ``source`` to ``target``; returns the sizes.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     src = Path(tmp) / "t.js"
    ...     _ = src.write_text("var answer = 42;")
    ...     sizes = build_tracker(src, Path(tmp) / "t.min.js")
    ...     (Path(tmp) / "t.min.js").read_text().splitlines()[1]
    'var answer=42;'
    """
    text = source.read_text(encoding="utf-8")
    built = BANNER + minify_js(text) + "\n"
    target.write_text(built, encoding="utf-8")
    return tracker_sizes(text, built)


def main() -> int:
    """``python -m pipeline.web.minify``: rebuild ``rtp.min.js`` and print the sizes."""
    try:
        sizes = build_tracker()
    except BuildError as err:
        print(f"rtp.min.js not built: {err}", file=sys.stderr)
        return 1
    print(f"{MINIFIED.name}: {sizes.minified:,} bytes, {sizes.minified_gzipped:,} gzipped "
          f"(source {sizes.source:,} / {sizes.source_gzipped:,} gzipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
