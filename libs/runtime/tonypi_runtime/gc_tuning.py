"""The garbage collector's settings for a service that handles a message stream.

CPython's default (a young-generation collection every 700 new container objects) suits a
short script. A service decoding thousands of messages a second makes that many objects
every few messages (the MQTT client alone makes ~60 per PUBLISH), nearly all of them freed
at once by reference counting; the collections still run, and each full one walks
everything alive, the service's imported modules and schemas included: in ingest and the
projector a large share of their CPU per message (docs/performance.md, "A/B: make bench").

`tune_for_throughput()`, called once after the imports: the objects alive then are frozen
(never walked again: modules, classes, schemas) and the young generation collects every
YOUNG_THRESHOLD objects. Reference cycles are still collected, so memory stays bounded;
only their collection comes in larger, rarer steps (a few MiB of young objects at most).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
MIDDLE_THRESHOLD = 20  # young collections per middle one
OLD_THRESHOLD = 100  # middle collections per full one (CPython adds its own 25 % rule)


def tune_for_throughput() -> None:
    gc.collect()  # what startup left as garbage is not frozen with the rest
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
