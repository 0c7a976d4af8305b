"""Personal data: 身份证号 (GB 11643) validation, masking, encryption at rest and keyed lookup hashes.

Values are encrypted with AES-GCM (or SM4-GCM) under a key derived from ``settings.PII_KEY``, each value naming
its key version so keys can be rotated (see "encryption at rest" below); exact lookups use a separate keyed hash
(HMAC-SHA256 or HMAC-SM3) of the normalised value, so the database never needs the clear text to find a person. The masked
form (first 3 and last 4 characters) is computed on the server and stored, so list pages never decrypt.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import operator
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.signals import setting_changed
from django.utils.translation import gettext as _

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
# First two digits of an admin division code: the provinces and equivalents of GB/T 2260.
PROVINCE_PREFIXES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


class PIIError(ValueError):
    """A personal-data value is malformed; the message says what is wrong in the user's language."""


@dataclass(frozen=True)
class IdInfo:
    number: str
    birth_date: dt.date
    gender: str  # "M" or "F"
    region_prefix: str


def id_check_char(first17: str) -> str:
    # map/mul in C: a third of the cost of a generator over zip, which counts at a million rows per import
    total = sum(map(operator.mul, map(int, first17), ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


def parse_id_number(raw: str, today: dt.date | None = None) -> IdInfo:
    """Validate an 18-character id number and derive birth date and gender from it.

    Raises :class:`PIIError` naming the first thing that is wrong: length, characters, region prefix,
    birth date or checksum.
    """
    number = (raw or "").strip().upper()
    if len(number) != 18:
        raise PIIError(_("身份证号应为18位，实际为%(n)d位") % {"n": len(number)})
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise PIIError(_("身份证号只能包含数字，最后一位可以是X"))
    if number[:2] not in PROVINCE_PREFIXES:
        raise PIIError(_("身份证号地区码%(p)s不存在") % {"p": number[:6]})
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise PIIError(_("身份证号中的出生日期%(d)s无效") % {"d": number[6:14]}) from None
    today = today or dt.date.today()
    if birth > today or birth.year < 1880:
        raise PIIError(_("身份证号中的出生日期%(d)s不合理") % {"d": number[6:14]})
    if id_check_char(number[:17]) != number[17]:
        raise PIIError(_("身份证号校验位错误"))
    gender = "M" if int(number[16]) % 2 == 1 else "F"
    return IdInfo(number=number, birth_date=birth, gender=gender, region_prefix=number[:6])


def normalise_phone(raw: str) -> str:
    phone = re.sub(r"[\s\-()（）]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if PHONE_RE.match(phone) or LANDLINE_RE.match(phone):
        return phone
    raise PIIError(_("电话号码%(p)s格式不正确，应为11位手机号或带区号的座机") % {"p": mask_phone(phone)})


def mask(value: str) -> str:
    """Keep the first 3 and last 4 characters: ``110***********1234``."""
    if not value:
        return ""
    if len(value) <= 7:
        return value[:1] + "*" * (len(value) - 1)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


mask_id_number = mask
mask_phone = mask


# --- encryption at rest -----------------------------------------------------------------------------------------
#
# A value is stored as ``<key id>:<cipher>:<base64(nonce || ciphertext+tag)>``: the key id names the key it was
# encrypted under (``PII_KEY_ID`` for ``PII_KEY``; older keys stay readable through ``PII_OLD_KEYS``) and the
# cipher is ``a`` (AES-256-GCM, the default) or ``s`` (SM4-GCM, 国密, ``PII_CIPHER=sm4-gcm``). A value without a
# prefix predates key versions: key id "1", AES-GCM. ``manage.py rotate_pii_key`` re-encrypts every value that is
# not under the current key and cipher, in batches, while the app runs.
#
# Lookup hashes are keyed separately (``PII_LOOKUP_KEY``, by default the secret of key id "1") so that rotating the
# encryption key does not change them: an exact search keeps working during and after a rotation. Their algorithm
# is HMAC-SHA256 or, with ``PII_LOOKUP_HASH=hmac-sm3``, HMAC-SM3.

CIPHERS = {"aes-gcm": "a", "sm4-gcm": "s"}
LEGACY_KEY_ID = "1"


class PIIKeyError(PIIError):
    """An encrypted value names a key that is not configured (or the key is wrong)."""


def _material(secret: str) -> bytes:
    return hashlib.sha512(secret.encode()).digest()


@dataclass(frozen=True)
class _Keys:
    """The PII settings as one value, read once per process: at import scale every row hashes two or three values
    and encrypts two, and reading six settings through Django's lazy settings object for each cost more than the
    hashing (~4 s per 200,000 rows). Forgotten when a ``PII_*`` setting changes (``setting_changed``: tests and
    ``override_settings``); a deployment changes keys by restarting with new settings (docs/security.md)."""

    key: str
    key_id: str
    cipher_name: str
    ring: dict[str, str]
    lookup_secret: str
    lookup_key: bytes
    sm3: bool


_keys: _Keys | None = None


def _current() -> _Keys:
    global _keys
    keys = _keys
    if keys is None:
        key_id = str(getattr(settings, "PII_KEY_ID", LEGACY_KEY_ID) or LEGACY_KEY_ID)
        ring = dict(getattr(settings, "PII_OLD_KEYS", {}) or {})
        ring[key_id] = settings.PII_KEY
        explicit = getattr(settings, "PII_LOOKUP_KEY", "")
        secret = str(explicit) if explicit else ring.get(LEGACY_KEY_ID, settings.PII_KEY)
        keys = _keys = _Keys(
            key=settings.PII_KEY,
            key_id=key_id,
            cipher_name=str(getattr(settings, "PII_CIPHER", "aes-gcm") or "aes-gcm").lower(),
            ring=ring,
            lookup_secret=secret,
            lookup_key=_material(secret)[32:],
            sm3=str(getattr(settings, "PII_LOOKUP_HASH", "hmac-sha256")).lower() == "hmac-sm3",
        )
    return keys


def _forget_keys(*, setting: str, **kwargs: Any) -> None:
    global _keys
    if setting.startswith("PII_"):
        _keys = None


setting_changed.connect(_forget_keys)


def key_ring() -> dict[str, str]:
    """Key id -> secret: the current ``PII_KEY`` under ``PII_KEY_ID`` and every ``PII_OLD_KEYS`` entry."""
    return dict(_current().ring)


def current_key_id() -> str:
    return _current().key_id


def current_cipher() -> str:
    name = _current().cipher_name
    if name not in CIPHERS:
        raise PIIKeyError(f"PII_CIPHER {name!r} is not one of {', '.join(CIPHERS)}")
    return CIPHERS[name]


@lru_cache(maxsize=16)
def _aead(secret: str, cipher: str) -> Any:
    material = _material(secret)
    if cipher == "a":
        return AESGCM(material[:32])
    return _SM4GCM(material[:16])


class _SM4GCM:
    """SM4 in GCM mode (cryptography's OpenSSL binding), with AESGCM's encrypt/decrypt shape."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def encrypt(self, nonce: bytes, data: bytes, aad: None) -> bytes:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        enc = Cipher(algorithms.SM4(self.key), modes.GCM(nonce)).encryptor()
        return enc.update(data) + enc.finalize() + enc.tag

    def decrypt(self, nonce: bytes, data: bytes, aad: None) -> bytes:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        dec = Cipher(algorithms.SM4(self.key), modes.GCM(nonce, data[-16:])).decryptor()
        return dec.update(data[:-16]) + dec.finalize()


def parse_token(token: str) -> tuple[str, str, str]:
    """``(key id, cipher, payload)`` of a stored value."""
    parts = token.split(":", 2)
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return LEGACY_KEY_ID, "a", token


def is_current(token: str) -> bool:
    """Whether ``token`` is already under the current key and cipher (nothing for a rotation to do)."""
    if not token:
        return True
    key_id, cipher, _payload = parse_token(token)
    return key_id == current_key_id() and cipher == current_cipher()


class _Nonces:
    """Random 96-bit GCM nonces drawn from the OS 4,096 at a time (one ``os.urandom`` call per value was a fifth
    of the cost of encrypting at import scale). A forked child starts with an empty buffer, so a parent and its
    children can never hand out the same nonce."""

    BATCH = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self._buf = b""
        self._at = 0

    def take(self) -> bytes:
        with self._lock:
            if self._at >= len(self._buf):
                self._buf, self._at = os.urandom(12 * self.BATCH), 0
            at = self._at
            self._at = at + 12
            return self._buf[at : at + 12]


_nonces = _Nonces()
os.register_at_fork(after_in_child=_nonces.reset)


def encrypt(value: str) -> str:
    """Encrypt under the current key and cipher: ``<key id>:<cipher>:base64(nonce || ciphertext)``."""
    if not value:
        return ""
    cipher = current_cipher()
    keys = _current()
    nonce = _nonces.take()
    blob = nonce + _aead(keys.key, cipher).encrypt(nonce, value.encode(), None)
    return f"{keys.key_id}:{cipher}:{base64.b64encode(blob).decode()}"


def decrypt(token: str) -> str:
    if not token:
        return ""
    key_id, cipher, payload = parse_token(token)
    secret = _current().ring.get(key_id)
    if secret is None:
        raise PIIKeyError(
            f"personal data encrypted under key {key_id!r}, which is not configured (PII_OLD_KEYS)"
        )
    if cipher not in CIPHERS.values():
        raise PIIKeyError(f"unknown cipher {cipher!r}")
    blob = base64.b64decode(payload)
    return _aead(secret, cipher).decrypt(blob[:12], blob[12:], None).decode()


def reencrypt(token: str) -> str:
    """``token`` under the current key and cipher (unchanged when it already is)."""
    return token if is_current(token) else encrypt(decrypt(token))


def lookup_secret() -> str:
    return _current().lookup_secret


def lookup_hash(value: str) -> str:
    """Keyed hash for exact lookup; the same value always gives the same hash under one lookup key."""
    if not value:
        return ""
    data = value.strip().upper().encode()
    keys = _current()
    if keys.sm3:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives import hmac as crypto_hmac

        mac = crypto_hmac.HMAC(keys.lookup_key, hashes.SM3())
        mac.update(data)
        return mac.finalize().hex()
    return hmac.new(keys.lookup_key, data, hashlib.sha256).hexdigest()


def generate_id_number(region_prefix: str, birth: dt.date, sequence: int, female: bool) -> str:
    """Build a synthetic id number with a valid checksum (for demo data and tests)."""
    seq = sequence % 100
    gender_digit = (sequence // 100) % 5 * 2 + (0 if female else 1)
    first17 = f"{region_prefix}{birth:%Y%m%d}{seq:02d}{gender_digit}"
    return first17 + id_check_char(first17)


# --- personal numbers inside free text ---------------------------------------------------------------------------
# A run of digits with the separators people type between groups (spaces, dashes, dots, full-width forms):
# ``139 1234 5678``, ``139-1234-5678``, ``+86 139…``, ``429004 19800101 0015``, ``010-6512 3456``.
_SEP = r"(?:\s*[-‐‑‒–—―.·/]\s*|\s+)?"
_NUMBER_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z０-９])(?:[+＋]\s*86" + _SEP + r")?[0-9０-９](?:" + _SEP + r"[0-9０-９]){6,19}"
    r"(?:" + _SEP + r"[Xx×Ｘｘ])?(?![0-9A-Za-z０-９])"
)


@dataclass(frozen=True)
class Found:
    """A personal number found in free text: where (``start``/``end`` in the text), what (``kind``: ``"phone"``
    or ``"id_number"``) and its digits without separators (``value``)."""

    start: int
    end: int
    kind: str
    value: str


def _classify(digits: str) -> str:
    if digits.startswith("86") and len(digits) == 13 and PHONE_RE.match(digits[2:]):
        return "phone"
    if PHONE_RE.match(digits):
        return "phone"
    if len(digits) == 18 and digits[:17].isdigit() and digits[:2] in PROVINCE_PREFIXES:
        return "id_number"
    if len(digits) == 15 and digits.isdigit() and digits[:2] in PROVINCE_PREFIXES:
        return "id_number"  # the old 15-digit id number
    if digits.startswith("0") and 10 <= len(digits) <= 12 and LANDLINE_RE.match(digits):
        return "phone"
    return ""


def find_in_text(text: str) -> list[Found]:
    """Phones (mobile, landline) and id numbers in ``text``, however they are spaced or dashed."""
    import unicodedata

    out: list[Found] = []
    for m in _NUMBER_IN_TEXT.finditer(text or ""):
        raw = unicodedata.normalize("NFKC", m.group(0)).replace("×", "X")
        digits = re.sub(r"[^0-9Xx]", "", raw.removeprefix("+").lstrip()).upper()
        kind = _classify(digits)
        if kind == "phone" and len(digits) == 13:
            digits = digits[2:]  # +86
        if kind:
            out.append(Found(m.start(), m.end(), kind, digits))
    return out


def mask_in_text(text: str) -> str:
    """``text`` with every phone and id number found by :func:`find_in_text` masked (first 3 and last 4
    digits kept: ``139****5678``)."""
    if not text:
        return text or ""
    found = find_in_text(text)
    if not found:
        return text
    parts: list[str] = []
    last = 0
    for f in found:
        parts.append(text[last : f.start])
        parts.append(mask(f.value))
        last = f.end
    parts.append(text[last:])
    return "".join(parts)
