"""The tracker's minified build: ``static/rtp.js`` -> ``static/rtp.min.js``, the file pages load.

The source stays readable ES5; the build parses it and prints it back minified with
local names shortened, using ``calmjs.parse`` (a pure-Python ES5 parser and printer
from PyPI, a development dependency: the service only serves the built file, which
is committed). ``make js`` (or ``python -m pipeline.web.minify``) rebuilds it and
prints its sizes; a unit test fails while the committed build is not the source's.

>>> minify_js("function add(first, second) { var total = first + second; return total; }")
'function add(c,b){var a=c+b;return a}'
"""

from __future__ import annotations

import gzip
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.web import STATIC_DIR

__all__ = ["BANNER", "MINIFIED", "SOURCE", "BuildSizes", "build_tracker", "minify_js",
           "tracker_sizes"]

#: The readable tracker and its minified build.
SOURCE = STATIC_DIR / "rtp.js"
MINIFIED = STATIC_DIR / "rtp.min.js"
#: The first line of the build (the source's own comments are dropped).
BANNER = "/*! rtp.js, built from /rtp.src.js */\n"


def minify_js(source: str) -> str:
    """``source`` (ES5) without comments, spaces or needless semicolons, local names shortened
    (globals kept).

    >>> minify_js("var x = 1; // one")
    'var x=1'
    """
    from calmjs.parse import es5
    from calmjs.parse.unparsers.es5 import minify_print

    return str(minify_print(es5(source), obfuscate=True, obfuscate_globals=False,
                            drop_semi=True))


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
    'var answer=42'
    """
    text = source.read_text(encoding="utf-8")
    built = BANNER + minify_js(text) + "\n"
    target.write_text(built, encoding="utf-8")
    return tracker_sizes(text, built)


def main() -> int:
    """``python -m pipeline.web.minify``: rebuild ``rtp.min.js`` and print the sizes."""
    sizes = build_tracker()
    print(f"{MINIFIED.name}: {sizes.minified:,} bytes, {sizes.minified_gzipped:,} gzipped "
          f"(source {sizes.source:,} / {sizes.source_gzipped:,} gzipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
