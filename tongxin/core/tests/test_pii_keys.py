"""PII key versions: every value names its key, old values still decrypt, a rotation re-encrypts everything in
batches (resumable, idempotent), and SM4-GCM/HMAC-SM3 can be chosen instead of AES-GCM/HMAC-SHA256."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tongxin.core import pii
from tongxin.core.models import AuditLog
from tongxin.people.models import Resident

OLD = "old-key-0123456789abcdef0123456789abcdef"
NEW = "new-key-fedcba9876543210fedcba9876543210"


def test_values_carry_their_key_version_and_old_values_still_decrypt(settings):
    # given a value written under key 1 and one from before key versions existed
    settings.PII_KEY, settings.PII_KEY_ID, settings.PII_OLD_KEYS = OLD, "1", {}
    v1 = pii.encrypt("13912345678")
    assert v1.startswith("1:a:")
    legacy = v1.split(":", 2)[2]  # the old format: no prefix
    # when key 2 becomes current and key 1 is kept as an old key
    settings.PII_KEY, settings.PII_KEY_ID, settings.PII_OLD_KEYS = NEW, "2", {"1": OLD}
    # then new values are under key 2 and the old ones still read
    assert pii.encrypt("x").startswith("2:a:")
    assert pii.decrypt(v1) == "13912345678" and pii.decrypt(legacy) == "13912345678"
    # and lookup hashes did not change with the key
    settings.PII_KEY, settings.PII_KEY_ID, settings.PII_OLD_KEYS = OLD, "1", {}
    before = pii.lookup_hash("13912345678")
    settings.PII_KEY, settings.PII_KEY_ID, settings.PII_OLD_KEYS = NEW, "2", {"1": OLD}
    assert pii.lookup_hash("13912345678") == before
    # and a value under a key that is not configured says so
    settings.PII_OLD_KEYS = {}
    with pytest.raises(pii.PIIKeyError, match="'1'"):
        pii.decrypt(v1)


def test_sm4_gcm_and_hmac_sm3_round_trip(settings):
    settings.PII_CIPHER, settings.PII_LOOKUP_HASH = "sm4-gcm", "hmac-sm3"
    token = pii.encrypt("429004198001010015")
    assert token.startswith(f"{pii.current_key_id()}:s:")
    assert pii.decrypt(token) == "429004198001010015"
    sm3 = pii.lookup_hash("429004198001010015")
    settings.PII_LOOKUP_HASH = "hmac-sha256"
    assert len(sm3) == 64 and sm3 != pii.lookup_hash("429004198001010015")
    # an SM4 value still reads after switching back to AES (the cipher is in the prefix)
    settings.PII_CIPHER = "aes-gcm"
    assert pii.decrypt(token) == "429004198001010015"


@pytest.mark.django_db
def test_rotation_reencrypts_in_batches_resumably_and_idempotently(world, settings, capsys):
    # given the registry written under key 1 (the world's residents: id numbers and phones)
    encrypted = {
        r.pk: (pii.decrypt(r.id_number_enc), pii.decrypt(r.phone_enc)) for r in Resident.objects.all()
    }
    assert encrypted
    old_key = settings.PII_KEY
    # when key 2 (SM4-GCM) becomes current and the rotation is interrupted after one batch of one row
    settings.PII_KEY, settings.PII_KEY_ID, settings.PII_OLD_KEYS = NEW, "2", {"1": old_key}
    settings.PII_CIPHER = "sm4-gcm"
    from tongxin.core.management.commands import rotate_pii_key

    changed, _current = rotate_pii_key.rotate_field(Resident, "phone_enc", batch=1, pause=0, dry_run=False)
    assert changed == len(encrypted)  # one field, every row, one row per batch
    # then --check counts what is left (the id numbers), and the full run finishes the job
    call_command("rotate_pii_key", check=True)
    left = capsys.readouterr().out.splitlines()[-1]
    assert int(left.split()[0]) >= len(encrypted), left  # the id numbers at least
    call_command("rotate_pii_key", batch=2)
    for r in Resident.objects.all():
        assert r.id_number_enc.startswith("2:s:") and r.phone_enc.startswith("2:s:")
        assert (pii.decrypt(r.id_number_enc), pii.decrypt(r.phone_enc)) == encrypted[r.pk]
    # and a second run changes nothing and the old key is no longer needed
    call_command("rotate_pii_key")
    assert "done: 0 re-encrypted" in capsys.readouterr().out
    settings.PII_OLD_KEYS = {}
    assert all(pii.decrypt(r.phone_enc) for r in Resident.objects.all())
    assert AuditLog.objects.filter(object_type="core.pii_key", object_id="2").count() == 2


@pytest.mark.django_db
def test_rotation_does_not_overwrite_a_value_changed_meanwhile(world, settings, monkeypatch):
    # given a resident whose phone the app changes between the rotation's read and its write
    from tongxin.core.management.commands import rotate_pii_key

    resident = world.residents["a1"]
    settings.PII_KEY, settings.PII_KEY_ID, settings.PII_OLD_KEYS = NEW, "2", {"1": settings.PII_KEY}
    real = pii.reencrypt

    def slow_reencrypt(token: str) -> str:
        Resident.objects.filter(pk=resident.pk).update(phone_enc=pii.encrypt("13700000000"))
        return real(token)

    monkeypatch.setattr(pii, "reencrypt", slow_reencrypt)
    rotate_pii_key.rotate_field(Resident, "phone_enc", batch=100, pause=0, dry_run=False)
    # then the app's new value is kept
    resident.refresh_from_db()
    assert pii.decrypt(resident.phone_enc) == "13700000000"
