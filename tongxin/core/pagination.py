"""Capped counting shared by the list pages and the list endpoints.

An exact ``COUNT(*)`` of a broad search (a common surname, a whole estate, a whole subdistrict) visits every match
and costs far more than the page itself. Lists therefore count at most ``COUNT_CAP`` rows
(``SELECT COUNT(*) FROM (SELECT … LIMIT cap + 1)``) and say when the real number is larger.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000


def capped_count(qs: Any, cap: int | None = None) -> tuple[int, bool]:
    """``(min(count, cap), count > cap)`` with one query that stops after ``cap + 1`` rows (default ``COUNT_CAP``)."""
    if cap is None:
        cap = COUNT_CAP
    # Without ORDER BY the database may stop at the (cap + 1)-th match instead of finding and sorting them all.
    n = qs.order_by()[: cap + 1].count()
    return min(n, cap), n > cap


class CappedPaginator(Paginator):
    """A paginator whose count stops at ``COUNT_CAP`` (``capped`` says so); pages past the cap are not offered."""

    capped = False

    @cached_property
    def count(self) -> int:
        n, self.capped = capped_count(self.object_list)
        return n
