"""Per-process memos of what every request reads again and rarely changes (issue 15): the API token's user, a
category with its deadline policy, the estates an address is matched against, the holiday calendar.

A :class:`Memo` keeps values in this process's memory (no pickling, no round trip) and answers for them until:

* the data changes: the owner connects :meth:`Memo.forget` to the models' ``post_save`` / ``post_delete`` (and
  whatever else writes them). ``forget`` empties this process's memo at once and again when the writing
  transaction commits, and bumps a generation in the shared cache (Redis when ``REDIS_URL`` is set) that the other
  processes look at every ``check`` seconds;
* ``ttl`` seconds pass (the bound for writes that send no signal — ``QuerySet.update``, raw SQL). Processes that
  share no cache (no ``REDIS_URL``: each has its own memory cache) cannot see each other's generations; there the
  bound is ``local_ttl`` (5 s by default), so an access change made through one process reaches the others within
  seconds.

A value read inside a transaction of the application's own (tests' transactions aside) is kept only if that
transaction has not changed the memo's data (no ``forget`` in it that is still pending): such a row might be one
the transaction wrote and then rolls back. What is read in autocommit is committed. A value computed while a
``forget`` ran meanwhile is not kept either.

Only values that are safe to share between threads belong here: callers get copies of model instances
(:meth:`Memo.get` with ``copy=True``) so that what a request caches on an object stays with that request.
"""

from __future__ import annotations

import copy as copying
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.db import connections, transaction

T = TypeVar("T")
_MEMOS: dict[str, Memo] = {}


def in_own_transaction(using: str = "default") -> bool:
    """Is an application transaction open on ``using``? (The atomic blocks that Django's test cases open around
    each test do not count: for the code under test they are the committed state.)"""
    conn = connections[using]
    return any(not getattr(block, "_from_testcase", False) for block in conn.atomic_blocks)


class Memo:
    def __init__(
        self,
        name: str,
        *,
        ttl: float = 60.0,
        local_ttl: float = 5.0,
        check: float = 1.0,
        maxsize: int = 10_000,
    ) -> None:
        if name in _MEMOS:
            raise ValueError(f"memo {name} defined twice")
        self.name = name
        self._ttl = ttl
        self._local_ttl = min(ttl, local_ttl)
        self.check = check
        self.maxsize = maxsize
        self._data: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # local: bumped by forget(); a value computed across a bump is not kept
        self._shared: Any = None  # the shared generation last seen
        self._next_check = 0.0
        _MEMOS[name] = self

    # -- reading ---------------------------------------------------------------------------------------------

    def get(
        self, key: Hashable, compute: Callable[[], T], *, copy: bool = False, using: str = "default"
    ) -> T:
        """The memoised value of ``key``, else ``compute()`` (kept when read outside a transaction). With
        ``copy`` a shallow copy is returned (model instances: each request gets its own)."""
        now = time.monotonic()
        if now >= self._next_check:
            self._sync(now)
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            value = hit[1]
        else:
            generation = self._generation
            value = compute()
            if generation == self._generation and not self._changed_here(using):
                with self._lock:
                    if len(self._data) >= self.maxsize:
                        self._data.clear()
                    self._data[key] = (now + self.ttl, value)
        return copying.copy(value) if copy and value is not None else value

    def _sync(self, now: float) -> None:
        """Empty this memo when another process has bumped the shared generation."""
        from django.core.cache import cache

        self._next_check = now + self.check
        try:
            shared = cache.get(self._key)
        except Exception:  # a cache outage: the TTL still bounds what is kept
            return
        if shared != self._shared:
            with self._lock:
                self._shared = shared
                self._generation += 1
                self._data.clear()

    @property
    def ttl(self) -> float:
        """How long a value is kept: ``local_ttl`` when the cache is this process's own memory (no generations
        shared with other processes), else ``ttl``."""
        from django.core.cache import caches
        from django.core.cache.backends.locmem import LocMemCache

        return self._local_ttl if isinstance(caches["default"], LocMemCache) else self._ttl

    @property
    def _key(self) -> str:
        return f"memo-generation:{self.name}"

    # -- invalidation ----------------------------------------------------------------------------------------

    def forget(self, *args: Any, using: str = "default", **kwargs: Any) -> None:
        """Drop every value, here at once and in the other processes within ``check`` seconds; again when the
        current transaction commits (what other requests read before the commit is stale by then). Usable as a
        signal receiver."""
        self._forget_now()
        conn = connections[using]
        if conn.in_atomic_block:
            hook = _Changed(self._forget_now)
            transaction.on_commit(hook, using=using)
            if in_own_transaction(using):  # until it ends, what it reads of this memo's data is not kept
                conn.__dict__.setdefault("_tongxin_memo_changed", {})[self.name] = hook

    def _changed_here(self, using: str) -> bool:
        """Has the application transaction open on ``using`` changed this memo's data? (Its commit hook is still
        pending: a commit runs it, a rollback drops it.)"""
        if not in_own_transaction(using):
            return False
        conn = connections[using]
        hook = conn.__dict__.get("_tongxin_memo_changed", {}).get(self.name)
        return hook is not None and any(entry[1] is hook for entry in reversed(conn.run_on_commit))

    def _forget_now(self) -> None:
        from django.core.cache import cache

        with self._lock:
            self._generation += 1
            self._data.clear()
        try:
            try:
                shared = cache.incr(self._key)
            except ValueError:  # not there yet
                cache.set(self._key, 1, timeout=None)
                shared = 1
        except Exception:  # a cache outage: the TTL bounds the other processes' memos
            return
        with self._lock:
            self._shared = shared

    def __len__(self) -> int:
        return len(self._data)


class _Changed:
    """A memo's commit hook, told apart by identity."""

    def __init__(self, run: Callable[[], None]) -> None:
        self.run = run

    def __call__(self) -> None:
        self.run()


def forget_all() -> None:
    """Empty every memo of this process (tests start from nothing)."""
    for memo in _MEMOS.values():
        with memo._lock:
            memo._generation += 1
            memo._data.clear()
            memo._next_check = 0.0


def memo(name: str) -> Memo:
    return _MEMOS[name]
