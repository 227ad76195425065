"""What an action leaves in reference cycles: objects only the cyclic collector would free.

Used by the tests that hold the core to "no cycle per request, call or session"
(docs/performance.md, run 9: each full collection walks every live object, a stall of
a tenth of a second or more with tens of thousands of sessions)."""
from __future__ import annotations

import gc
from typing import Callable


def cyclic_garbage(action: Callable[[], None], packages: tuple[str, ...] = ("rccserver", "twisted")) -> list[str]:
    """The sorted type names of the objects of `packages` that `action` left unreachable
    but not freed (in a cycle), found with the collector off and `gc.DEBUG_SAVEALL`."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # unreachable objects go to gc.garbage instead of being freed
    try:
        action()
        gc.collect()
        found = [type(thing) for thing in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    return sorted(f"{kind.__module__}.{kind.__qualname__}" for kind in found
                  if kind.__module__.split(".")[0] in packages)
