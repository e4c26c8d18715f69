"""The service freezes its startup heap, so full collections under load stay short."""

from __future__ import annotations

import gc

from service.gc_tuning import freeze_startup_heap


def test_objects_alive_at_startup_leave_the_collectors_reach() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        freeze_startup_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 1_000  # this test process's modules and objects, at the least
        assert len(gc.get_objects(generation=2)) < frozen  # what a full collection still scans
    finally:
        gc.unfreeze()
