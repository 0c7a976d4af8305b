"""Account actions: API tokens, the inbox (read, mark all read) and notification preferences (audited).

A token is shown once, when it is issued; only its SHA-256 hash is stored. Tokens are issued from a signed-in
browser session (``POST /api/v1/tokens``) or by an operator (``manage.py issue_token``), never with another
token, so a leaked token cannot extend its own life.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import audit, notifications, pii, policy
from tongxin.core.api import TOKENS
from tongxin.core.models import (
    ApiToken,
    AuditLog,
    Notification,
    NotificationAddress,
    NotificationPreference,
    User,
)


@transaction.atomic
def issue_token(user: User, name: str, actor: Any = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it and its key (the only time the key exists in clear)."""
    token, key = ApiToken.issue(user, name.strip())
    audit.record(
        AuditLog.Action.CREATE, token, actor=actor, after={"name": token.name, "prefix": token.prefix}
    )
    return token, key


@transaction.atomic
def revoke_token(token: ApiToken, actor: Any = None) -> None:
    """Revoke ``token`` (kept, never deleted, so the audit trail still names it). Revoking twice is a no-op."""
    if ApiToken.objects.filter(pk=token.pk, revoked=False).update(revoked=True) == 0:
        token.revoked = True
        return
    token.revoked = True
    TOKENS.forget()  # the update sent no signal: API requests stop accepting the key now
    audit.record(
        AuditLog.Action.UPDATE,
        token,
        actor=actor,
        field="revoked",
        before={"revoked": False},
        after={"revoked": True},
    )


# --- the inbox ------------------------------------------------------------------------------------------------


def inbox(user: Any) -> QuerySet[Notification]:
    """The user's own notifications, newest first (never anyone else's, superusers included)."""
    return Notification.objects.filter(user_id=user.pk).order_by("-created_at", "-id")


def address_of(user: Any) -> NotificationAddress | None:
    return NotificationAddress.objects.filter(user_id=user.pk).first()


def unread_count(user: Any) -> int:
    return inbox(user).filter(read_at__isnull=True).count()


def mark_read(user: Any, pk: int) -> Notification:
    """Mark one of the user's notifications read (once: the first reading time is kept)."""
    note = policy.get_or_deny(inbox(user), user, "accounts.read_notifications", pk=pk)
    if note.read_at is None:
        note.read_at = timezone.now()
        Notification.objects.filter(pk=note.pk, read_at__isnull=True).update(read_at=note.read_at)
    return note


def mark_all_read(user: Any) -> int:
    policy.require(user, "accounts.read_notifications")
    return inbox(user).filter(read_at__isnull=True).update(read_at=timezone.now())


# --- preferences ----------------------------------------------------------------------------------------------


def preference_table(user: Any) -> list[dict[str, Any]]:
    """One row per kind: its label and, per optional channel, whether the user receives it there."""
    chosen = {(p.kind, p.channel): p.enabled for p in NotificationPreference.objects.filter(user_id=user.pk)}
    rows = []
    for kind in notifications.KINDS.values():
        cells = [
            {"channel": ch, "on": chosen.get((kind.code, ch), ch in kind.channels)}
            for ch in notifications.optional_channels()
        ]
        rows.append({"kind": kind.code, "label": kind.label, "cells": cells})
    return rows


@transaction.atomic
def save_preferences(user: Any, enabled: set[tuple[str, str]], phone: str | None = None) -> None:
    """Store the user's choices: ``enabled`` holds the (kind, channel) pairs they want; every other optional pair
    of a known kind is off. ``phone``, when given, becomes their SMS number ('' removes it). Audited."""
    policy.require(user, "accounts.edit_preferences")
    before = {(r["kind"], c["channel"]): c["on"] for r in preference_table(user) for c in r["cells"]}
    rows = [
        NotificationPreference(
            user_id=user.pk, kind=kind, channel=channel, enabled=(kind, channel) in enabled
        )
        for kind in notifications.KINDS
        for channel in notifications.optional_channels()
    ]
    NotificationPreference.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["user", "kind", "channel"],
        update_fields=["enabled"],
    )
    changed = sorted(f"{k}/{c}" for (k, c), on in before.items() if on != ((k, c) in enabled))
    after: dict[str, Any] = {"changed": changed}
    if phone is not None:
        address, _created = NotificationAddress.objects.select_for_update().get_or_create(user_id=user.pk)
        if phone:
            try:
                normal = pii.normalise_phone(phone)
            except pii.PIIError:
                normal = ""
            if not pii.PHONE_RE.match(normal):
                raise ValidationError({"phone": _("请输入11位手机号")}, code="invalid_phone")
            address.phone_enc, address.phone_masked = pii.encrypt(normal), pii.mask(normal)
        else:
            address.phone_enc, address.phone_masked = "", ""
        address.save(update_fields=["phone_enc", "phone_masked"])
        after["phone"] = address.phone_masked
    audit.record(AuditLog.Action.UPDATE, user, actor=user, field="notification_preferences", after=after)
