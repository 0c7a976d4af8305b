"""Counting attempts for abuse limits (login, one-time codes, case intake), in the Django cache.

With ``REDIS_URL`` set the cache is Redis (settings), so every web process shares the counts; without it the
cache is the process's memory (development, tests). A :class:`Limit` counts events per key in a fixed window:
``hit`` adds one and says whether the limit is now exceeded, ``count`` reads, ``reset`` clears. Keys are hashed,
so no phone number or user name is written to the cache in clear.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache


class RateLimited(Exception):
    """Too many attempts; ``retry_after`` seconds until the window ends."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` events per ``window`` seconds for one key in bucket ``name``."""

    name: str
    limit: int
    window: int

    def _key(self, key: str) -> tuple[str, int]:
        slot = int(time.time() // self.window)
        digest = hashlib.sha256(f"{self.name}:{key}".encode()).hexdigest()[:32]
        return f"tx:rl:{self.name}:{digest}:{slot}", self.window - int(time.time() % self.window)

    def count(self, key: str) -> int:
        return int(cache.get(self._key(key)[0]) or 0)

    def hit(self, key: str) -> int:
        """Count one event; returns the count in this window (including this one)."""
        name, ttl = self._key(key)
        if cache.add(name, 1, timeout=ttl + 1):
            return 1
        try:
            return int(cache.incr(name))
        except ValueError:  # expired between add and incr
            cache.add(name, 1, timeout=ttl + 1)
            return 1

    def exceeded(self, key: str) -> bool:
        return self.count(key) >= self.limit

    def retry_after(self) -> int:
        return max(1, math.ceil(self.window - time.time() % self.window))

    def reset(self, key: str) -> None:
        cache.delete(self._key(key)[0])


def clear_counters() -> None:
    """Forget every counter (tests; an operator unlocking everyone at once). On Redis only the counters go."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        backend.clear()
        return
    client = backend._cache.get_client(write=True)
    for key in client.scan_iter(match="*tx:rl:*"):
        client.delete(key)
