"""Acceptance 4: a 10,000-row file with 3 bad rows writes nothing and reports exactly those rows; fixed, it
imports; imported again, nothing is duplicated. Once as .xlsx (through the upload page and the worker task),
once as a GBK-encoded .csv."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pytest
from django.urls import reverse

from tongxin.core.models import AuditLog, ImportJob
from tongxin.people.models import Household, Membership, Resident
from tongxin.people.tests.import_helpers import (
    RESIDENT_HEADER,
    csv_bytes,
    excel_like_xlsx,
    resident_rows,
    run,
)
from tongxin.regions.models import Dwelling

N = 10_000
# (data index, column, bad value) → Excel row = index + 2 (the header is row 1)
BAD = [(4, "身份证号", "42900419400101001X"), (5000, "楼栋", "99栋"), (9991, "联系电话", "12345")]


@lru_cache(maxsize=1)
def good_rows() -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(r) for r in resident_rows(N))


def bad_rows() -> list[list[Any]]:
    rows = [list(r) for r in good_rows()]
    for i, column, value in BAD:
        rows[i][RESIDENT_HEADER.index(column)] = value
    return rows


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # autouse fixtures run before ``world``: its nine users need no slow password hashing here
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def registry_counts() -> tuple[int, int, int, int]:
    return (
        Resident.objects.count(),
        Household.objects.count(),
        Membership.objects.count(),
        Dwelling.objects.count(),
    )


def assert_three_bad_rows(job: ImportJob) -> None:
    assert job.status == ImportJob.Status.FAILED
    assert [(e["row"], e["column"]) for e in job.errors] == [(i + 2, col) for i, col, _v in BAD]
    messages = [e["message"] for e in job.errors]
    assert "校验位" in messages[0]
    assert "99栋" in messages[1]
    assert "电话号码" in messages[2]


def assert_imported_once(before: tuple[int, int, int, int]) -> None:
    residents, households, memberships, dwellings = registry_counts()
    flats = (N + 2) // 3
    assert residents == before[0] + N
    assert households == before[1] + flats
    assert memberships == before[2] + N
    assert dwellings == before[3] + flats
    # every imported member lives in their head's household and flat
    spouse = Resident.objects.get(name="居民00001")
    head = Resident.objects.get(name="居民00000")
    assert spouse.household_id == head.household_id and spouse.dwelling_id == head.dwelling_id
    assert spouse.relation == "spouse" and Household.objects.get(residents=head).head_id == head.pk
    assert head.tags.filter(code="elderly_alone").exists()
    assert head.id_number_masked.startswith("429") and "*" in head.id_number_masked


def test_10k_xlsx_bad_rows_then_fixed_then_again(
    world, client, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(world.users["staff_a"])
    before = registry_counts()

    def upload(data: bytes) -> ImportJob:
        from django.core.files.uploadedfile import SimpleUploadedFile

        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("people:import_list"),
                {"kind": "residents", "file": SimpleUploadedFile("居民.xlsx", data)},
            )
        assert response.status_code == 302
        return ImportJob.objects.latest("pk")

    # given a 10,000-row workbook with 3 bad rows; when it is uploaded
    job = upload(excel_like_xlsx(RESIDENT_HEADER, bad_rows()))
    # then nothing is written and exactly those 3 rows are reported with column and reason
    assert_three_bad_rows(job)
    assert registry_counts() == before
    page = client.get(reverse("people:import_detail", args=[job.pk]))
    assert "5002" in page.content.decode() and "99栋" in page.content.decode()

    # when the fixed file is uploaded, then every row is created
    job = upload(excel_like_xlsx(RESIDENT_HEADER, [list(r) for r in good_rows()]))
    assert job.status == ImportJob.Status.DONE, job.errors[:3]
    assert (job.created_count, job.updated_count, job.total_rows) == (N, 0, N)
    assert_imported_once(before)
    assert AuditLog.objects.filter(action="import", object_id=str(job.pk)).count() == 1

    # when the same file is uploaded again, then nothing is duplicated and every row is unchanged
    job = upload(excel_like_xlsx(RESIDENT_HEADER, [list(r) for r in good_rows()]))
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.updated_count) == (0, 0)
    assert_imported_once(before)


def test_10k_gbk_csv_bad_rows_then_fixed_then_again(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    user = world.users["staff_a"]
    before = registry_counts()
    data = csv_bytes(RESIDENT_HEADER, bad_rows(), "gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really GBK, as Chinese Excel saves it

    # given a GBK .csv with 3 bad rows; when imported; then nothing is written and the 3 rows are reported
    job = run(user, "residents", "居民.csv", data)
    assert_three_bad_rows(job)
    assert registry_counts() == before

    # when fixed, it imports
    good = [list(r) for r in good_rows()]
    job = run(user, "residents", "居民.csv", csv_bytes(RESIDENT_HEADER, good, "gbk"))
    assert job.status == ImportJob.Status.DONE, job.errors[:3]
    assert job.created_count == N
    assert_imported_once(before)

    # when imported again with two changed rows, then nothing is duplicated and only those rows are updated
    good[7][RESIDENT_HEADER.index("联系电话")] = "13700000007"
    good[8][RESIDENT_HEADER.index("标签")] = "退役军人"
    job = run(user, "residents", "居民.csv", csv_bytes(RESIDENT_HEADER, good, "gbk"))
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.updated_count) == (0, 2)
    assert_imported_once(before)
    changed = Resident.objects.get(name="居民00007")
    assert changed.phone_last4 == "0007" and changed.phone_masked == "137****0007"
    assert list(Resident.objects.get(name="居民00008").tags.values_list("code", flat=True)) == ["veteran"]


# --- the forked pre-check of large files ------------------------------------------------------------------------
M = 3_000  # with IMPORT_PARALLEL_MIN_ROWS = 1,000 a forked child checks the last half, this process the rest


def tail_bad_rows() -> list[list[Any]]:
    """3 bad rows: a bad id number in this process's share, a bad id number and a bad phone in the child's."""
    rows = [list(r) for r in good_rows()[:M]]
    rows[10][RESIDENT_HEADER.index("身份证号")] = "42900419400101001X"
    rows[2500][RESIDENT_HEADER.index("身份证号")] = "429004194013010017"  # month 13
    rows[2600][RESIDENT_HEADER.index("联系电话")] = "12345"
    return rows


def test_large_file_checked_in_two_processes_reports_and_imports_as_one(world, settings, tmp_path):
    from tongxin.core import pii

    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_PARALLEL_MIN_ROWS = 1_000
    user = world.users["staff_a"]
    before = registry_counts()
    # given a 3,000-row file with bad rows on both sides of the split; when imported
    job = run(user, "residents", "居民.csv", csv_bytes(RESIDENT_HEADER, tail_bad_rows(), "utf-8"))
    # then nothing is written and exactly those rows are reported, with the reasons the single process gives
    assert job.status == ImportJob.Status.FAILED
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (12, "身份证号"),
        (2502, "身份证号"),
        (2602, "联系电话"),
    ]
    assert "校验位" in job.errors[0]["message"] and "出生日期" in job.errors[1]["message"]
    assert "电话号码" in job.errors[2]["message"]
    assert registry_counts() == before
    # when the fixed file is imported, then every row is there, found by the hashes the child computed
    good = [list(r) for r in good_rows()[:M]]
    job = run(user, "residents", "居民.csv", csv_bytes(RESIDENT_HEADER, good, "utf-8"))
    assert job.status == ImportJob.Status.DONE, job.errors[:3]
    assert job.created_count == M and Resident.objects.count() == before[0] + M
    last = good[-1]
    found = Resident.objects.get(id_number_hash=pii.lookup_hash(last[RESIDENT_HEADER.index("身份证号")]))
    assert found.name == last[RESIDENT_HEADER.index("姓名")]
    assert found.birth_date.isoformat().replace("-", "") == last[RESIDENT_HEADER.index("身份证号")][6:14]
    phone = last[RESIDENT_HEADER.index("联系电话")]
    if phone:
        assert found.phone_hash == pii.lookup_hash(phone) and found.phone_last4 == phone[-4:]


def test_the_childs_verdicts_are_the_ones_used(world, settings, tmp_path, monkeypatch):
    # given a child that (in this test) rejects every id number it checks
    from tongxin.people import imports

    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_PARALLEL_MIN_ROWS = 1_000
    monkeypatch.setattr(imports, "_prechecked", lambda items, *a: [("子进程的结论", None) for _ in items])
    # when a good 3,000-row file is imported
    rows = [list(r) for r in good_rows()[:M]]
    job = run(world.users["staff_a"], "residents", "居民.csv", csv_bytes(RESIDENT_HEADER, rows, "utf-8"))
    # then exactly the child's share (the last half: data rows 1,500…, Excel rows 1,502…) carries its verdict
    assert job.status == ImportJob.Status.FAILED
    start = M - int(M * imports.PRECHECK_SHARE)
    flagged = sorted(e["row"] for e in job.errors if e["message"] == "子进程的结论")
    assert (start, flagged[0], flagged[-1], len(flagged)) == (1_500, start + 2, M + 1, M - start)


def test_a_failed_child_leaves_its_rows_to_the_main_process(world, settings, tmp_path, monkeypatch):
    # given a child that dies before answering
    from tongxin.people import imports

    def boom(*args: Any) -> Any:
        raise RuntimeError("child crashed")

    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_PARALLEL_MIN_ROWS = 1_000
    monkeypatch.setattr(imports, "_prechecked", boom)
    # when a file with a bad phone in the child's share is imported, then the main process finds it itself
    job = run(
        world.users["staff_a"], "residents", "居民.csv", csv_bytes(RESIDENT_HEADER, tail_bad_rows(), "utf-8")
    )
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (12, "身份证号"),
        (2502, "身份证号"),
        (2602, "联系电话"),
    ]
