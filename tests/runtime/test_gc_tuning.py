"""A service's collector settings (tonypi_runtime.gc_tuning): startup's objects frozen, the
young generation collected in larger steps, and reference cycles still collected without
anyone calling gc.collect() (memory stays bounded). In a child process: the settings are
process-wide."""

import json
import subprocess
import sys

CHILD = """
import gc, json, weakref
from tonypi_runtime.gc_tuning import YOUNG_THRESHOLD, tune_for_throughput

tune_for_throughput()
frozen, threshold = gc.get_freeze_count(), gc.get_threshold()

class Node:
    pass

collected = []
for _ in range(3):  # cycles that only the collector can free
    a, b = Node(), Node()
    a.other, b.other = b, a
    weakref.finalize(a, collected.append, 1)
    del a, b
churn = [[] for _ in range(2 * YOUNG_THRESHOLD)]  # enough new objects for a young collection
print(json.dumps({"frozen": frozen, "threshold": threshold, "collected": len(collected)}))
"""


def test_startup_is_frozen_and_cycles_are_still_collected_on_their_own():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["frozen"] > 1000  # the imported modules and classes
    assert result["threshold"] == [50_000, 20, 100]
    assert result["collected"] == 3
