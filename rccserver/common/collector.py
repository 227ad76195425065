"""Pausing Python's cyclic garbage collector around bulk loads.

Loading the directory and the CIC data builds about a million objects that are all
kept (or, in the reload process, all handed back), none of them in a reference cycle.
With the collector on, each 700 new objects start a pass, and every tenth of those
passes that finds the old generation grown by a quarter walks the whole of it: about
1.2 s of full passes that find nothing, in one reload of 100,000 users (measured in
the reload process, docs/performance.md run 9). Refcounting frees everything these
loads discard; the collector is back on when they end.
"""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block, back as it was after it (nesting-safe)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
