"""The tracker's minified build: current with its source, and what delivery serves."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from pipeline.delivery.app import DeliveryState, build_app
from pipeline.web.minify import BANNER, MINIFIED, SOURCE, build_tracker, minify_js, tracker_sizes


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
    assert built == BANNER + "function greet(a){return'hi '+a}\n"
    assert sizes.minified == len(built.encode()) and sizes.source == len(src.read_bytes())


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
