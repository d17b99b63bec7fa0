"""`memory://` rate-limit storage that sweeps expired counters at most once a second.

The `limits` library's MemoryStorage starts a `threading.Timer` to sweep expired counters
whenever its previous one has finished, which under steady traffic is on nearly every hit: a
thread started per request (about a tenth of the CPU of a refused submission, measured in
docs/performance.md). Expiry does not depend on the sweep (every read checks the key's
expiry); the sweep only frees memory, so once a second is plenty. Registered under the same
`memory` scheme, so `RATELIMIT_STORAGE_URI=memory://` (and Flask-Limiter's in-memory
fallback when Redis is down) means this class: the same per-process counting, same limits.
"""

import time

from limits.storage import MemoryStorage as _LimitsMemoryStorage

SWEEP_INTERVAL = 1.0  # seconds between sweeps of expired counters


class MemoryStorage(_LimitsMemoryStorage):
    STORAGE_SCHEME = ["memory"]  # replaces the library's class for memory:// (see the module doc)

    _next_sweep = 0.0

    # Overrides the base class's private `__schedule_expiry`, which its incr/decr/acquire call.
    def _MemoryStorage__schedule_expiry(self):
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_INTERVAL
            super()._MemoryStorage__schedule_expiry()
