"""Python's cyclic garbage collector held off while a folder is scanned and written.

A sync of a large folder keeps tens of thousands of small containers alive until it returns — a source
reference, a fingerprint, a scan-cache entry and a plan entry for each file. The collector promotes them to
its oldest generation, and once enough have piled up it runs a full collection over the whole heap: measured
on a 10,000-file folder with one changed file, a full collection of 100–160 ms every other sync, in a sync of
about 0.5 s. Those objects are freed by reference counting when the sync returns, and a write makes almost no
reference cycles (a first ingest of the same folder with the collector off left 630 unreachable objects), so
while a write scans and indexes, the collector waits; afterwards it is as it was before.

The pause is process-wide (the collector is): writes in several threads keep it off until the last one ends,
and a program that turned the collector off itself finds it still off.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
