"""Sign-in protections: repeated failed logins lock the account; idle staff sessions end."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tongxin.conftest import PASSWORD, make_user
from tongxin.core.models import AuditLog, User

LOCKED_MESSAGE = "登录失败次数过多"


def login(client: Client, username: str, password: str):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


@pytest.mark.django_db
def test_five_failed_logins_lock_the_account(settings):
    settings.LOGIN_MAX_FAILURES = 5
    user = make_user("clerk", is_staff=True)
    c = Client()
    # when someone types a wrong password five times
    for _ in range(5):
        response = login(c, "clerk", "wrong-password")
        assert response.status_code == 200 and "_auth_user_id" not in c.session
    # then the account is locked
    user.refresh_from_db()
    assert user.is_locked
    # and the right password now fails too, with the lockout message
    response = login(c, "clerk", PASSWORD)
    assert response.status_code == 200 and "_auth_user_id" not in c.session
    assert LOCKED_MESSAGE in response.content.decode()
    assert not AuditLog.objects.filter(action="login").exists()
    # when the lock has expired, then the right password works and is audited
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - dt.timedelta(seconds=1))
    response = login(c, "clerk", PASSWORD)
    assert response.status_code == 302 and c.session["_auth_user_id"] == str(user.pk)
    assert AuditLog.objects.filter(action="login", actor=user).count() == 1


@pytest.mark.django_db
def test_fewer_failures_do_not_lock_and_success_resets_the_count(settings):
    settings.LOGIN_MAX_FAILURES = 5
    user = make_user("clerk2", is_staff=True)
    c = Client()
    for _ in range(4):
        login(c, "clerk2", "wrong-password")
    # when the fifth attempt is right, then it signs in and the failure count starts again
    response = login(c, "clerk2", PASSWORD)
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_locked and user.failed_logins == 0


@pytest.mark.django_db
def test_idle_staff_session_expires_but_resident_session_does_not(settings):
    settings.STAFF_IDLE_SECONDS = 60
    staff = make_user("idle_staff", is_staff=True)
    resident = make_user("idle_resident")
    home = reverse("accounts:home")
    for user, expires in ((staff, True), (resident, False)):
        c = Client()
        c.force_login(user)
        # given an active session
        assert c.get(home).status_code == 200
        # when the last request was longer ago than the idle limit
        session = c.session
        session["_last_seen"] = time.time() - 120
        session.save()
        response = c.get(home)
        if expires:
            # then a staff user is signed out and sent to the login page
            assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
            assert "_auth_user_id" not in c.session
        else:
            # then a resident's session is not subject to the staff idle limit
            assert response.status_code == 200
    # and a staff user active within the limit stays signed in
    c = Client()
    c.force_login(staff)
    c.get(home)
    session = c.session
    session["_last_seen"] = time.time() - 30
    session.save()
    assert c.get(home).status_code == 200
