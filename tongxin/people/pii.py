"""Setting personal values on people: encrypt, hash, mask in one place."""

from __future__ import annotations

from typing import Any

from tongxin.core import pii


def set_id_number(resident: Any, value: str) -> pii.IdInfo | None:
    """Validate and store an id number; derives gender and birth date. Empty clears it."""
    if not value:
        resident.id_number_enc = resident.id_number_hash = resident.id_number_masked = resident.id_last4 = ""
        return None
    info = pii.parse_id_number(value)
    resident.id_number_enc = pii.encrypt(info.number)
    resident.id_number_hash = pii.lookup_hash(info.number)
    resident.id_number_masked = pii.mask(info.number)
    resident.id_last4 = info.number[-4:]
    resident.gender = info.gender
    resident.birth_date = info.birth_date
    return info


def set_foreign_document(resident: Any, value: str) -> None:
    """Passports and other documents: no checksum, still encrypted, hashed and masked."""
    number = value.strip().upper()
    resident.id_number_enc = pii.encrypt(number)
    resident.id_number_hash = pii.lookup_hash(number)
    resident.id_number_masked = pii.mask(number)
    resident.id_last4 = number[-4:]


def set_phone(obj: Any, value: str, prefix: str = "phone") -> None:
    """Store a phone on ``obj`` in the ``{prefix}_enc/_hash/_masked/_last4`` fields that exist on it."""
    phone = pii.normalise_phone(value) if value else ""
    for suffix, val in (
        ("enc", pii.encrypt(phone)),
        ("hash", pii.lookup_hash(phone)),
        ("masked", pii.mask(phone)),
        ("last4", phone[-4:]),
    ):
        attr = f"{prefix}_{suffix}"
        if hasattr(obj, attr):
            setattr(obj, attr, val)
