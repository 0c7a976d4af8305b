"""Write audit records. Every service that writes or reveals personal data calls :func:`record`."""

from __future__ import annotations

from typing import Any

from django.db import models

from tongxin.core.middleware import client_ip, current_request
from tongxin.core.models import AuditLog, User


def _actor(actor: Any) -> User | None:
    if actor is not None:
        return actor if getattr(actor, "is_authenticated", False) else None
    request = current_request.get()
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


def record(
    action: str,
    obj: models.Model | None = None,
    *,
    actor: Any = None,
    object_type: str = "",
    object_id: Any = "",
    before: Any = None,
    after: Any = None,
    field: str = "",
    ip: str | None = None,
) -> AuditLog:
    """Append one audit record. ``before``/``after`` must already be masked where they hold personal data."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    return AuditLog.objects.create(
        actor=_actor(actor),
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        object_repr=str(obj)[:200] if obj is not None else "",
        field=field,
        before=before,
        after=after,
        ip=ip or client_ip(current_request.get()),
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, for compact before/after records."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
