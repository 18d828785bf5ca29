"""The tracker's size goal (≤ 5,000 B gzipped) holds for the committed build, which sends the
visitor's token with every collector batch."""

from __future__ import annotations

import re

from pipeline.web.minify import MINIFIED, SOURCE, tracker_sizes

#: README's goal for ``rtp.min.js``, gzipped at level 9.
GOAL_GZIPPED_BYTES = 5_000


def test_the_committed_build_is_within_the_size_goal() -> None:
    sizes = tracker_sizes(SOURCE.read_text(), MINIFIED.read_text())
    assert sizes.minified_gzipped <= GOAL_GZIPPED_BYTES, sizes


def test_the_build_sends_the_token_with_every_batch_and_keeps_a_renewed_one() -> None:
    built = MINIFIED.read_text()
    # the batch's body names the token beside the visitor (the e2e tests show it is the
    # visitor's own), and the answer's token is stored
    assert re.search(r"writeKey:\w\.writeKey,visitor:\w,token:\w,user:", built)
    assert built.count('"vtok"') >= 3  # read for each call, sent to /v1/visitor, stored
