"""memory:// rate limits count and expire as before, without starting a thread per hit."""

import threading
import time

from limits.storage import memory, storage_from_string

from crm.core.ratelimits import MemoryStorage


def test_memory_scheme_is_the_storage_that_sweeps_at_most_once_a_second(monkeypatch):
    started = []

    class CountingTimer(threading.Timer):
        def start(self):
            started.append(self)
            super().start()

    monkeypatch.setattr(memory.threading, "Timer", CountingTimer)
    storage = storage_from_string("memory://")
    assert isinstance(storage, MemoryStorage)
    for _ in range(15):  # spaced wider than the library's 10 ms timer: one thread per hit before
        storage.incr("hits", 60)
        time.sleep(0.02)
    assert storage.get("hits") == 15
    assert len(started) <= 2  # the constructor's timer and at most one sweep in 0.3 s


def test_a_counter_still_expires_on_time_between_sweeps():
    storage = storage_from_string("memory://")
    storage.incr("short", 0.05)
    assert storage.get("short") == 1
    time.sleep(0.1)
    assert storage.get("short") == 0  # every read checks the expiry; the sweep only frees memory
