"""The start-up heap is frozen out of the cyclic collector's way, once per stage."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import uuid
import weakref
from pathlib import Path

from judges.heap import freeze_start_up_heap

REPO = Path(__file__).resolve().parents[2]


class _Cyclic:
    def __init__(self) -> None:
        self.me = self


def test_objects_alive_at_the_freeze_leave_the_collector_and_later_ones_do_not() -> None:
    before = _Cyclic()
    stage = f"test-{uuid.uuid4()}"
    frozen = gc.get_freeze_count()
    assert freeze_start_up_heap(stage) is True
    after = _Cyclic()
    tracked = {id(obj) for obj in gc.get_objects()}
    assert gc.get_freeze_count() > frozen
    assert id(before) not in tracked  # in the permanent generation
    assert id(after) in tracked  # collected as before
    assert freeze_start_up_heap(stage) is False  # once per stage
    gc.unfreeze()  # back to the oldest generation: this process's other tests as before


def test_garbage_from_before_the_freeze_is_collected_not_frozen() -> None:
    garbage = _Cyclic()
    gone = weakref.ref(garbage)
    del garbage  # only its own cycle holds it now
    gc.disable()  # no collection between here and the freeze but the freeze's own
    try:
        assert gone() is not None
        freeze_start_up_heap(f"test-{uuid.uuid4()}")
        assert gone() is None
    finally:
        gc.enable()
        gc.unfreeze()


def test_configure_litellm_freezes_what_litellms_import_built() -> None:
    """In a fresh process: litellm's import-time objects leave the tracked set."""
    code = (
        "import gc, json\n"
        "from judges.litellm_client import configure_litellm\n"
        "tracked = len(gc.get_objects())\n"
        "configure_litellm()\n"
        "configure_litellm()\n"  # idempotent: no second collection, no second freeze
        "print(json.dumps([tracked, gc.get_freeze_count(), len(gc.get_objects())]))\n"
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    tracked, frozen, left = json.loads(out.stdout.strip().splitlines()[-1])
    assert tracked > 100_000  # litellm's price map and tables, before
    assert frozen > 0.9 * tracked
    assert left < 1_000
