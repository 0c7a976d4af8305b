"""Party's part of the access policy: the derived role ``party_member`` and the actions on the party pages."""

from __future__ import annotations

from typing import Any

from tongxin.core.policy import role_provider
from tongxin.regions.policy import PARTY_MEMBER


@role_provider
def party_roles(user: Any) -> set[str]:
    """An active party member whose resident record is linked to this account holds ``party_member``."""
    from tongxin.party.models import PartyMember

    if PartyMember.objects.filter(resident__user=user, active=True).exists():
        return {PARTY_MEMBER}
    return set()
