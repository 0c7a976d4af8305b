"""Residents sign in with their phone number and a one-time code sent by SMS.

The code is six digits, lives in the signing-in browser's session only as a keyed hash, expires after
``OTP_TTL_SECONDS`` and allows ``OTP_MAX_ATTEMPTS`` guesses. Sending is rate limited per phone number (one code per
``OTP_RESEND_SECONDS``, ``OTP_MAX_PER_HOUR`` per hour; the count comes from the audit log, so it holds across
processes and servers without a cache), per client address (``OTP_MAX_PER_IP_HOUR``, with a captcha from the
``OTP_CAPTCHA_AFTER``-th code of the hour on) and for the whole site (``OTP_GLOBAL_PER_HOUR``, a budget that
caps what an attack can cost in SMS), those two in the cache (:mod:`tongxin.core.throttle`). The phone number itself is never stored in clear: users are found by the
keyed lookup hash that the registry uses.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from tongxin.core import audit, captcha, notifications, pii
from tongxin.core.middleware import client_ip
from tongxin.core.models import AuditLog, User
from tongxin.core.throttle import Limit
from tongxin.people.models import Resident
from tongxin.regions.choices import Role
from tongxin.regions.models import RoleAssignment

log = logging.getLogger("tongxin.otp")

SESSION_KEY = "_otp"
OTP_TTL_SECONDS = int(getattr(settings, "OTP_TTL_SECONDS", 300))
OTP_MAX_ATTEMPTS = int(getattr(settings, "OTP_MAX_ATTEMPTS", 5))
OTP_RESEND_SECONDS = int(getattr(settings, "OTP_RESEND_SECONDS", 60))
OTP_MAX_PER_HOUR = int(getattr(settings, "OTP_MAX_PER_HOUR", 5))
AUDIT_TYPE = "otp"


class OtpError(ValueError):
    """Why a code could not be sent or accepted, in the user's language."""


def _code_hash(phone_hash: str, code: str) -> str:
    return salted_hmac("tongxin.otp", f"{phone_hash}:{code}").hexdigest()


def sms_backend() -> Any:
    """The configured SMS backend: an object with ``send(phone, text)`` (see ``tongxin.core.notifications``)."""
    try:
        return notifications.sms_backend()
    except ImportError:
        return _LogSMS()


class _LogSMS:
    """Fallback when the configured backend cannot be imported: log that a code went out, never the code."""

    def send(self, phone: str, text: str) -> None:
        log.warning(
            "SMS backend missing; message to %s not sent: %s", pii.mask(phone), notifications.redact(text)
        )


def _ip_limit() -> Limit:
    return Limit("otp-ip", settings.OTP_MAX_PER_IP_HOUR, 3600)


def _global_limit() -> Limit:
    return Limit("otp-all", settings.OTP_GLOBAL_PER_HOUR, 3600)


def captcha_required(request: HttpRequest) -> bool:
    """Whether the next code request from this address must solve a captcha first."""
    return _ip_limit().count(client_ip(request) or "-") >= settings.OTP_CAPTCHA_AFTER


def request_code(request: HttpRequest, raw_phone: str, captcha_answer: str | None = None) -> str:
    """Send a fresh code to ``raw_phone`` and remember its hash in the session. Returns the masked phone."""
    ip = client_ip(request) or "-"
    if captcha_required(request) and not captcha.check(request, captcha_answer):
        raise OtpError(_("请正确填写图中算式的结果"))
    if _ip_limit().exceeded(ip):
        raise OtpError(_("本网络获取验证码过于频繁，请一小时后再试"))
    if _global_limit().exceeded("all"):
        log.error("SMS code budget of %d per hour reached: codes refused", settings.OTP_GLOBAL_PER_HOUR)
        raise OtpError(_("短信发送繁忙，请稍后再试"))
    try:
        phone = pii.normalise_phone(raw_phone)
    except pii.PIIError as exc:
        raise OtpError(str(exc)) from None
    if not pii.PHONE_RE.match(phone):
        raise OtpError(_("请输入11位手机号"))
    phone_hash = pii.lookup_hash(phone)
    key = phone_hash[:40]
    now = timezone.now()
    recent = list(
        AuditLog.objects.filter(
            object_type=AUDIT_TYPE, object_id=key, at__gte=now - dt.timedelta(hours=1)
        ).values_list("at", flat=True)
    )
    if recent and max(recent) > now - dt.timedelta(seconds=OTP_RESEND_SECONDS):
        raise OtpError(_("验证码已发送，请%(s)d秒后再试") % {"s": OTP_RESEND_SECONDS})
    if len(recent) >= OTP_MAX_PER_HOUR:
        raise OtpError(_("该号码获取验证码过于频繁，请一小时后再试"))
    _ip_limit().hit(ip)
    _global_limit().hit("all")
    code = f"{secrets.randbelow(10**6):06d}"
    request.session[SESSION_KEY] = {
        "phone_hash": phone_hash,
        "phone_masked": pii.mask(phone),
        "code": _code_hash(phone_hash, code),
        "expires": time.time() + OTP_TTL_SECONDS,
        "attempts": 0,
    }
    audit.record(
        AuditLog.Action.CREATE, object_type=AUDIT_TYPE, object_id=key, after={"sent": pii.mask(phone)}
    )
    text = _("【同心】您的登录验证码是%(code)s，%(m)d分钟内有效。如非本人操作请忽略。") % {
        "code": code,
        "m": OTP_TTL_SECONDS // 60,
    }
    sms_backend().send(phone, text)
    return pii.mask(phone)


def pending_phone(request: HttpRequest) -> str:
    """The masked phone a code was sent to in this session, or ''."""
    state = request.session.get(SESSION_KEY) or {}
    return state.get("phone_masked", "")


def verify_code(request: HttpRequest, code: str) -> User:
    """Check ``code`` against the session's pending code; on success sign the resident in and return the user."""
    state = request.session.get(SESSION_KEY)
    if not state:
        raise OtpError(_("请先获取验证码"))
    if time.time() > state["expires"]:
        request.session.pop(SESSION_KEY, None)
        raise OtpError(_("验证码已过期，请重新获取"))
    if state["attempts"] >= OTP_MAX_ATTEMPTS:
        request.session.pop(SESSION_KEY, None)
        raise OtpError(_("错误次数过多，请重新获取验证码"))
    expected = state["code"]
    if not hmac.compare_digest(expected, _code_hash(state["phone_hash"], (code or "").strip())):
        state["attempts"] += 1
        request.session[SESSION_KEY] = state
        left = OTP_MAX_ATTEMPTS - state["attempts"]
        if left <= 0:
            request.session.pop(SESSION_KEY, None)
            raise OtpError(_("错误次数过多，请重新获取验证码"))
        raise OtpError(_("验证码不正确，还可尝试%(n)d次") % {"n": left})
    request.session.pop(SESSION_KEY, None)
    user = resident_user(state["phone_hash"], state["phone_masked"])
    login(request, user, backend="tongxin.core.auth.LockoutModelBackend")
    audit.record(AuditLog.Action.LOGIN, user, actor=user)
    return user


@transaction.atomic
def resident_user(phone_hash: str, phone_masked: str) -> User:
    """The user signing in with this phone: an existing account, the registry resident's account, or a new one.

    A resident of the registry with this phone gets an account linked to their record, so "my home" is known.
    Anyone else gets a bare resident account (they can still submit requests with a map point or address).
    """
    user = User.objects.filter(phone_hash=phone_hash).order_by("pk").first()
    resident = (
        Resident.objects.filter(phone_hash=phone_hash)
        .select_related("user")
        .order_by("user_id", "pk")  # a resident already holding an account first
        .first()
    )
    if user is None and resident is not None and resident.user is not None:
        user = resident.user
        if not user.phone_hash:
            user.phone_hash, user.phone_masked = phone_hash, phone_masked
            user.save(update_fields=["phone_hash", "phone_masked"])
    if user is None:
        user = User(
            username=f"m{phone_hash[:20]}",
            display_name=resident.name if resident is not None else phone_masked,
            phone_hash=phone_hash,
            phone_masked=phone_masked,
        )
        user.set_unusable_password()
        user.save()
        RoleAssignment.objects.create(user=user, role=Role.RESIDENT)
        audit.record(AuditLog.Action.CREATE, user, actor=user, after={"phone": phone_masked})
    if resident is not None and resident.user_id is None:
        resident.user = user
        resident.save(update_fields=["user"])
    return user
