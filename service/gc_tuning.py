"""The service process's cyclic garbage collector: tuned once at start, and the heap the
start built frozen.

A transition or a timer fire allocates thousands of short-lived containers (the machine's
event data, the record copy, the commit's header and replies) that die within the call.
CPython's default threshold collects the youngest generation every 700 net allocations, so
calls pay for many collections of objects that would be gone a moment later anyway. A
threshold of 10,000 runs collections ~14× less often; memory held waiting for one is a few MB
at most. Measured on the timer burst (bench.timers, worker settings alternated in one
process, 2,048 fires a segment): CPU per fire −3.4 to −14.8 µs (paired medians of four runs,
≈ 2–4 % of ≈ 230 µs); ``gc.freeze()`` after start on top of it measured no better in CPU.

The freeze is for latency: a full collection scanned the ≈ 80,000 objects alive after start
(modules, generated protobuf classes, gRPC's and the app's objects) each time. Under load at
70 % of the peak, full collections paused the loop 38 ms at the median (max 68) before the
freeze and 2.2 ms after (BENCHMARKS.md), and those pauses were the open loop's p99.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 20, 20)  # youngest generation, then how often each older one follows


def tune_gc() -> None:
    """Set the collector's thresholds for this process (``THRESHOLDS``)."""
    gc.set_threshold(*THRESHOLDS)


def freeze_startup_heap() -> None:
    """Put every object alive now out of the collector's reach (``gc.freeze``): full
    collections then scan only what the process made since. Objects alive once the process
    has started live as long as it anyway, so nothing is kept that would have been freed."""
    gc.collect()
    gc.freeze()
