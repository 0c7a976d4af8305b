"""Account actions: issuing and revoking API tokens (audited).

A token is shown once, when it is issued; only its SHA-256 hash is stored. Tokens are issued from a signed-in
browser session (``POST /api/v1/tokens``) or by an operator (``manage.py issue_token``), never with another
token, so a leaked token cannot extend its own life.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tongxin.core import audit
from tongxin.core.models import ApiToken, AuditLog, User


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
    audit.record(
        AuditLog.Action.UPDATE,
        token,
        actor=actor,
        field="revoked",
        before={"revoked": False},
        after={"revoked": True},
    )
