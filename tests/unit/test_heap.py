"""Giving free heap memory back: on glibc it shrinks the resident size after a burst."""

from __future__ import annotations

import platform

import psutil
import pytest

from trainmon.heap import give_back_free_memory


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_freed_heap_blocks_go_back_to_the_system() -> None:
    process = psutil.Process()
    give_back_free_memory()
    before = process.memory_info().rss
    # Blocks the size of a parser's lists and a store's growing arrays: from the C heap.
    burst = [bytes(2048) + str(i).encode() for i in range(50_000)]  # ~100 MB
    keep = burst[::1000]
    del burst
    held = process.memory_info().rss
    assert give_back_free_memory()
    after = process.memory_info().rss
    assert keep and held - before > 40 << 20
    assert after < held - (20 << 20)  # most of the freed burst left the process
