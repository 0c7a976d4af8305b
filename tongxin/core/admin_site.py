"""The Django admin, audited: every write made through it leaves an audit row with the values before and after.

:func:`audit_every_admin` (run by ``CoreConfig.ready``, after the admin has discovered every app's
``admin.py``) mixes :class:`AuditedAdminMixin` into every registered ``ModelAdmin``, so no app can forget it
(a test checks that none is left out): adding, changing (fields and many-to-many), deleting one object or a
selection, and the writes the admin records only in its own log (a password change) are audited. Secrets are
never copied into the log: passwords, encrypted values and keyed hashes show as ``***`` when they change.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

SECRET_MARKERS = ("password", "_enc", "_hash", "secret", "token", "key")
REDACTED = "***"


def _secret(name: str) -> bool:
    return any(marker in name for marker in SECRET_MARKERS)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def snapshot(obj: models.Model, with_m2m: bool = False) -> dict[str, Any]:
    """The object's field values (foreign keys as ids), ready for JSON."""
    out: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        out[field.attname] = _plain(field.value_from_object(obj))
    if with_m2m and obj.pk is not None:
        for field in obj._meta.many_to_many:
            out[field.name] = sorted(getattr(obj, field.name).values_list("pk", flat=True))
    return out


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only what changed, secrets redacted."""
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    old = {k: REDACTED if _secret(k) else before.get(k) for k in keys}
    new = {k: REDACTED if _secret(k) else after.get(k) for k in keys}
    return old, new


class AuditedAdminMixin:
    """Audit every write of a ``ModelAdmin`` (mixed in by :class:`AuditedAdminSite`)."""

    model: type[models.Model]

    def _record(self, request: HttpRequest, action: str, obj: Any, before: Any, after: Any) -> None:
        from tongxin.core import audit

        audit.record(action, obj, actor=request.user, before=before, after=after, field="admin")
        audited: set[tuple[str, str]] = getattr(request, "_tongxin_admin_audited", set())
        audited.add((obj._meta.label_lower, str(obj.pk)))
        request._tongxin_admin_audited = audited  # type: ignore[attr-defined]

    def _stored(self, obj: models.Model) -> dict[str, Any]:
        if obj.pk is None:
            return {}
        current = type(obj)._default_manager.filter(pk=obj.pk).first()
        return snapshot(current, with_m2m=True) if current is not None else {}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        request._tongxin_admin_before = self._stored(obj) if change else {}  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        from tongxin.core.models import AuditLog

        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        obj = form.instance
        before = getattr(request, "_tongxin_admin_before", {})
        old, new = changes(before, snapshot(obj, with_m2m=True))
        action = AuditLog.Action.UPDATE if change else AuditLog.Action.CREATE
        if old or new or not change:
            self._record(request, action, obj, old or None, new)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        from tongxin.core.models import AuditLog

        before = changes(snapshot(obj, with_m2m=True), {})[0]
        super().delete_model(request, obj)  # type: ignore[misc]
        self._record(request, AuditLog.Action.DELETE, obj, before, None)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        from tongxin.core.models import AuditLog

        gone = [(obj, changes(snapshot(obj, with_m2m=True), {})[0]) for obj in queryset]
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        for obj, before in gone:
            self._record(request, AuditLog.Action.DELETE, obj, before, None)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        """Writes the admin makes outside ``save_model`` (the password form) are audited from its own log."""
        from tongxin.core.models import AuditLog

        entry = super().log_change(request, obj, message)  # type: ignore[misc]
        if (obj._meta.label_lower, str(obj.pk)) not in getattr(request, "_tongxin_admin_audited", set()):
            self._record(
                request, AuditLog.Action.UPDATE, obj, None, {"admin": str(entry.get_change_message())}
            )
        return entry


def audit_every_admin(site: admin.AdminSite) -> None:
    """Mix :class:`AuditedAdminMixin` into every ``ModelAdmin`` registered on ``site`` (called from
    ``CoreConfig.ready``, after the admin's autodiscovery)."""
    for model, model_admin in list(site._registry.items()):
        if not isinstance(model_admin, AuditedAdminMixin):
            cls = type(model_admin)
            audited = type(f"Audited{cls.__name__}", (AuditedAdminMixin, cls), {"__module__": cls.__module__})
            site._registry[model] = audited(model, site)
