"""The one shape of an event row: what happened (``type``), who did it (``actor``), the details (``payload``) and
when (``at``).

Each aggregate with a history keeps its own event table (an activity's timeline, a case's timeline …) built on
:class:`EventBase`: a foreign key to the aggregate plus these four fields. Event rows are append-only — in the
ORM (:class:`tongxin.core.db.AppendOnlyModel`) and in the database (add ``AppendOnly("<model>")`` to the migration
that creates the table, see :mod:`tongxin.core.db`). The event log is the audit trail of the aggregate and the
timeline shown to users.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.db import AppendOnlyModel


class EventBase(AppendOnlyModel):
    """Abstract event row. Subclasses add the foreign key to their aggregate and may narrow ``type`` with
    ``choices`` or add snapshot columns; ``ordering`` is by time, then id."""

    type = models.CharField(_("事件"), max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("操作人"),
    )
    payload = models.JSONField(_("详情"), default=dict, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    @classmethod
    def actor_of(cls, user: Any) -> Any:
        """``user`` if it is a signed-in user, else None (anonymous requests, tasks, the system)."""
        return user if getattr(user, "is_authenticated", False) else None
