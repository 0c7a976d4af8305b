"""The audit log holds: the client IP cannot be forged, admin writes are audited, the database refuses edits, a
hash chain shows tampering, old rows are archived without breaking the chain, and admins read it on one page."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from tongxin.conftest import PASSWORD, make_user
from tongxin.core import audit
from tongxin.core.db import create_sql, drop_sql
from tongxin.core.middleware import client_ip
from tongxin.core.models import AuditLog, User


def _request(remote: str, forwarded: str = ""):
    meta: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_forwarded_for_is_ignored_without_trusted_proxies(settings):
    # given no trusted proxies
    settings.TRUSTED_PROXIES = []
    # when a client sends its own X-Forwarded-For, then the peer address is the client
    assert client_ip(_request("203.0.113.9", "6.6.6.6")) == "203.0.113.9"


def test_forwarded_for_is_read_from_a_trusted_proxy_only(settings):
    # given nginx on 127.0.0.1 and a proxy network
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    # when the request comes through the proxies, then the first untrusted hop from the right is the client,
    # even if the client prepended a forged address
    assert client_ip(_request("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.2.3")) == "198.51.100.7"
    # and an untrusted peer's header is ignored
    assert client_ip(_request("198.51.100.8", "6.6.6.6")) == "198.51.100.8"
    # and garbage in the header does not become the client
    assert client_ip(_request("127.0.0.1", "not-an-ip")) == "127.0.0.1"


@pytest.mark.django_db
def test_a_login_with_a_forged_forwarded_for_records_the_real_address(settings):
    # given a staff user and no trusted proxies
    settings.TRUSTED_PROXIES = []
    make_user("clerk", is_staff=True)
    # when they sign in sending X-Forwarded-For: 6.6.6.6
    c = Client(REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="6.6.6.6")
    c.post(reverse("accounts:login"), {"username": "clerk", "password": PASSWORD})
    # then the audit row names the real peer
    row = AuditLog.objects.get(action="login")
    assert row.ip == "192.0.2.10"


@pytest.mark.django_db
def test_admin_edit_of_a_record_is_audited_with_before_and_after(world):
    # given a superuser in the Django admin
    boss = User.objects.create_superuser("root", password=PASSWORD)
    c = Client()
    c.force_login(boss)
    target = world.users["staff_a"]
    url = reverse("admin:core_user_change", args=[target.pk])
    form = c.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list | tuple)}
    data.update(
        {
            "username": target.username,
            "display_name": "改过的名字",
            "date_joined_0": target.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": target.date_joined.strftime("%H:%M:%S"),
            "failed_logins": 0,
            "is_active": "on",
        }
    )
    data.pop("date_joined", None)
    data.pop("last_login", None)
    data.pop("password", None)
    # when they change the user's display name
    response = c.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    # then an audit row names the admin, the object and the change
    row = AuditLog.objects.filter(object_type="core.user", object_id=str(target.pk), actor=boss).get()
    assert row.action == "update"
    assert row.before["display_name"] == "staff_a" and row.after["display_name"] == "改过的名字"


@pytest.mark.django_db
def test_admin_password_change_is_audited_without_the_password(world):
    # given a superuser
    boss = User.objects.create_superuser("root", password=PASSWORD)
    c = Client()
    c.force_login(boss)
    target = world.users["grid_1"]
    # when they set a new password in the admin
    url = reverse("admin:auth_user_password_change", args=[target.pk])
    response = c.post(url, {"password1": "Another-pw-2026", "password2": "Another-pw-2026"})
    assert response.status_code == 302
    # then it is audited and no hash leaks into the log
    row = AuditLog.objects.get(object_type="core.user", object_id=str(target.pk), actor=boss)
    assert "argon2" not in json.dumps(row.after) and "pbkdf2" not in json.dumps(row.after)


@pytest.mark.django_db
def test_every_registered_model_admin_is_audited():
    # given the admin site, then every ModelAdmin carries the audit mixin
    from django.contrib import admin

    from tongxin.core.admin_site import AuditedAdminMixin

    assert admin.site._registry
    assert all(isinstance(ma, AuditedAdminMixin) for ma in admin.site._registry.values())


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_to_change_or_delete_audit_rows():
    # given an audit row
    row = audit.record("create", object_type="x", object_id="1", after={"a": 1})
    table = AuditLog._meta.db_table
    # when raw SQL tries to change it or delete it, then the database refuses
    for sql in (
        f"UPDATE {table} SET object_id = 'forged' WHERE id = %s",
        f"DELETE FROM {table} WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [row.pk])
    assert AuditLog.objects.get(pk=row.pk).object_id == "1"


def _tamper(sql: str, params: list) -> None:
    """What an intruder with the table owner's rights does: lift the triggers, edit, put them back."""
    table = AuditLog._meta.db_table
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cur:
        for stmt in drop_sql(connection.vendor, table, quote):
            cur.execute(stmt)
        cur.execute(sql, params)
        for stmt in create_sql(connection.vendor, table, quote):
            cur.execute(stmt)


@pytest.mark.django_db
def test_verify_audit_reports_the_first_broken_link(capsys):
    # given a chain of five rows (one with a float, one with an IPv6 address)
    rows = [
        audit.record(
            "update", object_type="t", object_id=str(i), before={"n": i}, after={"n": i + 0.5, "f": 1e20}
        )
        for i in range(4)
    ]
    rows.append(audit.record("login", object_type="t", object_id="4", ip="2001:db8::1"))
    # then the chain verifies and the head is the last row's hash
    call_command("verify_audit")
    assert rows[-1].hash in capsys.readouterr().out
    # when someone edits row 3's content behind the triggers' back
    table = AuditLog._meta.db_table
    _tamper(f"UPDATE {table} SET object_repr = 'forged' WHERE id = %s", [rows[2].pk])
    # then verify_audit fails naming row 3
    with pytest.raises(CommandError, match=f"#{rows[2].pk}: content"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_audit_notices_a_removed_row():
    # given a chain of three rows, when the middle one is deleted behind the triggers' back
    rows = [audit.record("update", object_type="t", object_id=str(i)) for i in range(3)]
    _tamper(f"DELETE FROM {AuditLog._meta.db_table} WHERE id = %s", [rows[1].pk])
    # then the link after the gap is reported
    with pytest.raises(CommandError, match=f"#{rows[2].pk}: previous hash"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_archive_exports_old_rows_and_keeps_the_chain_verifiable(tmp_path, monkeypatch, capsys):
    # given six rows written "now"
    rows = [audit.record("update", object_type="t", object_id=str(i), after={"i": i}) for i in range(6)]
    # when archiving with a clock 200 days ahead and 183 days kept (every row is old enough)
    from tongxin.core.management.commands import archive_audit

    later = timezone.now() + dt.timedelta(days=200)
    monkeypatch.setattr(archive_audit.timezone, "now", lambda: later)
    call_command("archive_audit", days=183, out=tmp_path)
    # then the rows are gone, a checkpoint remains, and the chain still verifies
    remaining = list(AuditLog.objects.order_by("id"))
    assert [r.action for r in remaining] == ["archive"]
    assert remaining[0].after["rows"] == 6 and remaining[0].after["through_hash"] == rows[-1].hash
    call_command("verify_audit")
    # and the file holds the rows, oldest first, and verifies on its own
    (path,) = tmp_path.glob("audit-*.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        exported = [json.loads(line) for line in fh]
    assert [r["object_id"] for r in exported] == [str(i) for i in range(6)]
    call_command("verify_audit", archive=path)
    # and rows written after the archive chain on from the checkpoint
    audit.record("update", object_type="t", object_id="after")
    call_command("verify_audit")
    # and an archive run with nothing old enough does nothing
    monkeypatch.undo()
    call_command("archive_audit", days=183, out=tmp_path)
    assert "nothing to archive" in capsys.readouterr().out


@pytest.mark.django_db
def test_archive_refuses_to_keep_less_than_six_months(tmp_path):
    with pytest.raises(CommandError, match="183"):
        call_command("archive_audit", days=30, out=tmp_path)


@pytest.mark.django_db
def test_audit_page_filters_and_shows_a_diff(world, django_assert_max_num_queries):
    # given audit rows by two people
    audit.record(
        "update",
        world.residents["a1"],
        actor=world.users["staff_a"],
        before={"name": "甲"},
        after={"name": "乙"},
    )
    audit.record("export", object_type="people.resident", actor=world.users["grid_1"], ip="192.0.2.5")
    c = world.client("admin")
    # when the admin filters by the staff member
    with django_assert_max_num_queries(12):
        response = c.get(reverse("core:audit"), {"actor": "staff_a", "action": "update"})
    # then only that row shows, with the before/after diff
    html = response.content.decode()
    assert response.status_code == 200
    assert "<del>甲</del>" in html and "<ins>乙</ins>" in html
    assert "192.0.2.5" not in html
    # and filtering by IP finds the other one
    html = c.get(reverse("core:audit"), {"ip": "192.0.2.5"}).content.decode()
    assert "192.0.2.5" in html and "<del>甲</del>" not in html


@pytest.mark.django_db
def test_audit_page_is_closed_to_community_staff_and_grid_workers(world):
    for role in ("staff_a", "grid_1", "resident"):
        assert world.client(role).get(reverse("core:audit")).status_code in (403, 404)
