"""The seed's four stories on demand: scripted visitors (``script``), the words that say what
the pipeline did for them (``narrate``) and the driver that walks one through the real web
tier and worker (``drive``; used by ``rtp demo --story``).

>>> sorted(STORIES)
['finance', 'headphones', 'saas', 'travel']
"""

from pipeline.stories.script import STORIES, Step, Story, native_batch

__all__ = ["STORIES", "Step", "Story", "native_batch"]
