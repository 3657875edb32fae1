"""The start-up heap, out of the cyclic garbage collector's way.

litellm's import builds about 420,000 objects that live as long as the process (its price
map, provider tables and configuration classes), and the service's start-up adds its own
(the config, the routes, SQLAlchemy's metadata). CPython's cyclic collector walks every
one of them on each full collection: about 300 ms of CPU per full collection on the
benchmark machine, during which the event loop stands still, about once per thousand
judge calls. `gc.freeze()` moves every object alive at that moment to a
permanent generation that collections skip; what is allocated later is collected as
before. A collection first, so that no garbage is frozen with them.

The price: an object frozen here that later becomes part of a garbage cycle is never
freed. That is why it runs once per process, at the end of start-up, over objects that
are meant to live until the process ends. docs/benchmarks.md has the measurement.
"""

from __future__ import annotations

import gc

_frozen: set[str] = set()


def freeze_start_up_heap(stage: str) -> bool:
    """Collect, then freeze every object alive now, once per `stage` per process (a second
    call for the same stage does nothing and returns False)."""
    if stage in _frozen:
        return False
    _frozen.add(stage)
    gc.collect()
    gc.freeze()
    return True
