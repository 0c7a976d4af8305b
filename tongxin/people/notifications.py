"""People's part of the notifications: a user linked to a resident of the registry is reached on that resident's
phone (registered with :func:`tongxin.core.notifications.phone_provider` when the app is ready)."""

from __future__ import annotations

from tongxin.core import pii
from tongxin.core.notifications import phone_provider
from tongxin.people.models import Resident


@phone_provider
def resident_phones(user_ids: set[int]) -> dict[int, str]:
    """The phone of the resident linked to each user (the oldest record, if several are linked)."""
    rows = (
        Resident.objects.filter(user_id__in=user_ids)
        .exclude(phone_enc="")
        .order_by("pk")
        .values_list("user_id", "phone_enc")
    )
    phones: dict[int, str] = {}
    for uid, enc in rows:
        phones.setdefault(uid, enc)
    return {uid: pii.decrypt(enc) for uid, enc in phones.items()}
