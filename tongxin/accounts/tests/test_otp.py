"""Resident sign-in by phone number and one-time code."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client

from tongxin.accounts import otp
from tongxin.core.models import AuditLog, User
from tongxin.regions.models import RoleAssignment

URL = "/m/login/"


@pytest.fixture
def outbox(settings):
    from tongxin.core.notifications import MemorySMSBackend

    settings.SMS_BACKEND = "tongxin.core.notifications.MemorySMSBackend"
    MemorySMSBackend.outbox = []
    return MemorySMSBackend.outbox


def _code(outbox: list) -> str:
    found = re.search(r"(\d{6})", outbox[-1][1])
    assert found is not None, outbox
    return found.group(1)


def test_registry_resident_signs_in_with_code_and_is_linked(world, outbox):
    # given a resident of the registry with phone 13900000002 and no account
    c = Client()
    # when they ask for a code and type it
    r = c.post(URL, {"phone": "139 0000 0002"})
    assert r.status_code == 200 and "139****0002" in r.content.decode()
    assert outbox[-1][0] == "13900000002"
    r = c.post(URL, {"code": _code(outbox)})
    # then they are signed in as a resident account linked to their registry record
    assert r.status_code == 302 and r["Location"] == "/cases/m/"
    world.residents["a2"].refresh_from_db()
    user = world.residents["a2"].user
    assert user is not None and user.phone_masked == "139****0002"
    assert RoleAssignment.objects.filter(user=user, role="resident").exists()
    assert int(c.session["_auth_user_id"]) == user.pk
    # the code itself is never stored, only a keyed hash in the session, and the send is audited
    assert AuditLog.objects.filter(object_type="otp").count() == 1


def test_existing_account_is_reused(world, outbox):
    # given resident a1 already holds an account
    c = Client()
    c.post(URL, {"phone": "13900000001"})
    c.post(URL, {"code": _code(outbox)})
    assert int(c.session["_auth_user_id"]) == world.users["resident"].pk
    assert User.objects.filter(phone_hash=world.residents["a1"].phone_hash).count() == 1


def test_unknown_phone_gets_a_bare_resident_account(world, outbox):
    c = Client()
    c.post(URL, {"phone": "13712345678"})
    c.post(URL, {"code": _code(outbox)})
    user = User.objects.get(pk=c.session["_auth_user_id"])
    assert not user.has_usable_password()
    assert list(RoleAssignment.objects.filter(user=user).values_list("role", flat=True)) == ["resident"]


def test_wrong_code_counts_attempts_then_invalidates(world, outbox):
    c = Client()
    c.post(URL, {"phone": "13900000003"})
    good = _code(outbox)
    bad = "000000" if good != "000000" else "111111"
    for _ in range(otp.OTP_MAX_ATTEMPTS - 1):
        r = c.post(URL, {"code": bad})
        assert "_auth_user_id" not in c.session
        assert "验证码不正确" in r.content.decode()
    r = c.post(URL, {"code": bad})
    assert "错误次数过多" in r.content.decode()
    # even the right code no longer works: the pending code is gone
    r = c.post(URL, {"code": good})
    assert "_auth_user_id" not in c.session
    assert "请先获取验证码" in r.content.decode()


def test_code_expires(world, outbox, monkeypatch):
    c = Client()
    c.post(URL, {"phone": "13900000003"})
    code = _code(outbox)
    real = time.time
    monkeypatch.setattr(otp.time, "time", lambda: real() + otp.OTP_TTL_SECONDS + 1)
    r = c.post(URL, {"code": code})
    assert "_auth_user_id" not in c.session
    assert "已过期" in r.content.decode()


def test_resend_is_rate_limited_per_phone_across_sessions(world, outbox):
    Client().post(URL, {"phone": "13900000003"})
    # a second browser asking for the same phone right away is refused and no SMS goes out
    r = Client().post(URL, {"phone": "13900000003"})
    assert "秒后再试" in r.content.decode()
    assert len(outbox) == 1


def test_bad_phone_is_refused(world, outbox):
    r = Client().post(URL, {"phone": "12345"})
    assert r.status_code == 200 and "格式不正确" in r.content.decode()
    assert outbox == []
