"""The tracker's minified build: current with its source, and what delivery serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pipeline.delivery.app import DeliveryState, build_app
from pipeline.web.minify import (
    BANNER,
    MINIFIED,
    SOURCE,
    BuildError,
    build_tracker,
    minify_js,
    tracker_sizes,
)


def test_the_committed_build_is_the_build_of_the_source() -> None:
    # fails while rtp.min.js was not rebuilt after rtp.js changed: run `make js`
    assert MINIFIED.read_text() == BANNER + minify_js(SOURCE.read_text()) + "\n"


def test_the_build_is_smaller_and_keeps_the_names_pages_use() -> None:
    source, built = SOURCE.read_text(), MINIFIED.read_text()
    sizes = tracker_sizes(source, built)
    assert sizes.minified < 0.6 * sizes.source
    assert sizes.minified_gzipped < sizes.source_gzipped
    # the page's interface: globals, attributes, API members and query parameters survive
    for name in ("RTP_CONFIG", "__rtpPaintLog", "data-rtp-slot", "data-rtp-variant",
                 "renderers", "paintLog", "consent", "identify", "/v1/decisions?visitor=",
                 "&trigger=", "&wait_ms=", "ignored", "declining_availability"):
        assert name in built, name
    assert "// " not in built and "\n  " not in built  # comments and indentation gone


def test_build_tracker_writes_what_it_measures(tmp_path: Path) -> None:
    src = tmp_path / "a.js"
    src.write_text("function greet(name) {\n  // say hello\n  return 'hi ' + name;\n}\n")
    sizes = build_tracker(src, tmp_path / "a.min.js")
    built = (tmp_path / "a.min.js").read_text()
    assert built == BANNER + 'function greet(e){return"hi "+e}\n'
    assert sizes.minified == len(built.encode()) and sizes.source == len(src.read_bytes())


def test_the_build_uses_es2015_at_most_and_escapes_non_ascii() -> None:
    # arrow functions for callbacks that never use `this`; nothing newer than ES2015 is made,
    # and a non-ASCII character stays a \u escape (a page in another charset reads the same)
    built = minify_js('on(function (e) { go(e, "\\u00d7"); });')
    assert built == 'on(o=>{go(o,"\\xd7")});'
    assert minify_js("var o = { f: function () { return this; } };") == \
        "var o={f:function(){return this}};"


@pytest.mark.parametrize("source", ["let x = 1;", "var f = () => 1;", "var s = `t`;",
                                    "class A {}", "var o = { a };"])
def test_a_source_that_is_not_es5_is_refused(source: str) -> None:
    # rtp.js stays readable ES5: newer syntax fails the build (and so the currency test)
    with pytest.raises(BuildError, match="the source is not ES5"):
        minify_js(source)


async def test_delivery_serves_the_build_as_rtp_js_and_the_source_beside_it() -> None:
    async with TestClient(TestServer(build_app(DeliveryState.standalone()))) as client:
        built = await (await client.get("/rtp.js")).text()
        source = await (await client.get("/rtp.src.js")).text()
    assert built == MINIFIED.read_text() and source == SOURCE.read_text()
    assert built != source


def test_the_readme_records_the_gzipped_size_of_the_committed_build() -> None:
    # the number in README's performance table is this file's, measured now (never typed in)
    sizes = tracker_sizes(SOURCE.read_text(), MINIFIED.read_text())
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| tracker size"))
    recorded = re.findall(r"\*\*([\d,]+) B gzipped\*\*", row)
    assert [int(r.replace(",", "")) for r in recorded] == [sizes.minified_gzipped]
    built = re.findall(r"`rtp.min.js` ([\d,]+) B", row)
    assert [int(b.replace(",", "")) for b in built] == [sizes.minified]
