"""Import pages (permission, upload, progress, report, templates) and the grid roster export."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tongxin.core.models import AuditLog, ImportJob
from tongxin.people.imports import KINDS
from tongxin.people.tasks import run_import_job
from tongxin.people.tests.import_helpers import csv_bytes, run

DWELLING_HEADER = [c.header for c in KINDS["dwellings"].columns]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # autouse fixtures run before ``world``: its nine users need no slow password hashing here
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sheet(content: bytes) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [tuple(r) for r in wb.worksheets[0].iter_rows(values_only=True)]


@pytest.mark.parametrize("role", ["grid_1", "property", "department", "volunteer", "resident"])
def test_other_roles_get_404_on_every_import_page(world, role):
    # given a job created by community staff
    job = run(
        world.users["staff_a"],
        "dwellings",
        "x.csv",
        csv_bytes(DWELLING_HEADER, [["锦绣江山", "3栋", "2单元", "801"]]),
    )
    client = world.client(role)
    # when another role opens the import pages, then they do not exist for them
    assert client.get(reverse("people:import_list")).status_code == 404
    upload = SimpleUploadedFile("x.csv", csv_bytes(DWELLING_HEADER, [["锦绣江山", "3栋", "2单元", "802"]]))
    assert (
        client.post(reverse("people:import_list"), {"kind": "dwellings", "file": upload}).status_code == 404
    )
    assert client.get(reverse("people:import_detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("people:import_template", args=["residents"])).status_code == 404
    assert ImportJob.objects.count() == 1


def test_anonymous_is_sent_to_login(world, client):
    response = client.get(reverse("people:import_list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_staff_of_another_community_cannot_see_a_job(world):
    job = run(
        world.users["staff_a"],
        "dwellings",
        "x.csv",
        csv_bytes(DWELLING_HEADER, [["锦绣江山", "3栋", "2单元", "801"]]),
    )
    client = world.client("staff_b")
    assert client.get(reverse("people:import_detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("people:import_errors", args=[job.pk])).status_code == 404
    assert client.get(reverse("people:import_status", args=[job.pk])).status_code == 404


def test_upload_runs_in_the_worker_and_shows_progress_and_report(world, django_capture_on_commit_callbacks):
    client = world.client("staff_a")
    page = client.get(reverse("people:import_list"))
    assert page.status_code == 200 and "房屋导入模板" in page.content.decode()
    rows = [["锦绣江山", "3栋", "2单元", "801", "8", "80"], ["锦绣江山", "3栋", "2单元", "802", "x", ""]]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("people:import_list"),
            {"kind": "dwellings", "file": SimpleUploadedFile("房屋.csv", csv_bytes(DWELLING_HEADER, rows))},
        )
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("people:import_detail", args=[job.pk])
    assert (job.status, job.total_rows, job.processed_rows) == ("failed", 2, 2)
    status = client.get(reverse("people:import_status", args=[job.pk])).json()
    assert status["status"] == "failed" and status["processed_rows"] == 2
    detail = client.get(reverse("people:import_detail", args=[job.pk])).content.decode()
    assert "楼层“x”应为整数" in detail and "import_progress.js" not in detail
    report = client.get(reverse("people:import_errors", args=[job.pk]))
    lines = report.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "行号,列,问题" and lines[1].startswith("3,楼层,")
    # the worker task is idempotent: a finished job is not run again
    assert run_import_job.call_local(job.pk) == "skipped"


def test_pending_job_page_polls_for_progress(world):
    job = ImportJob.objects.create(
        kind="dwellings",
        original_name="x.csv",
        created_by=world.users["staff_a"],
        file="x.csv",
        total_rows=10,
        processed_rows=4,
    )
    page = world.client("staff_a").get(reverse("people:import_detail", args=[job.pk])).content.decode()
    assert "import_progress.js" in page and 'value="4"' in page


def test_upload_rejects_other_file_types(world):
    client = world.client("staff_a")
    response = client.post(
        reverse("people:import_list"), {"kind": "dwellings", "file": SimpleUploadedFile("x.pdf", b"%PDF")}
    )
    assert response.status_code == 200 and ImportJob.objects.count() == 0


@pytest.mark.parametrize("kind", list(KINDS))
def test_template_download_has_headers_and_an_example(world, kind):
    response = world.client("staff_a").get(reverse("people:import_template", args=[kind]))
    assert response.status_code == 200 and response["Content-Type"].startswith(
        "application/vnd.openxmlformats"
    )
    rows = sheet(response.content)
    assert list(rows[0]) == [c.header for c in KINDS[kind].columns]
    assert len(rows) == 2 and any(rows[1])


def test_dwellings_template_imports_as_is(world):
    # the example row is 锦绣江山3栋2单元501, a flat of the demo estate: the template itself is a valid file
    content = world.client("staff_a").get(reverse("people:import_template", args=["dwellings"])).content
    job = run(world.users["staff_a"], "dwellings", "template.xlsx", content)
    assert job.status == "done", job.errors


def test_unknown_template_is_404(world):
    assert world.client("staff_a").get(reverse("people:import_template", args=["nope"])).status_code == 404


# -------------------------------------------------------------------------------------------------- export
def test_community_roster_export_lists_households_masked_and_party_households(world):
    from tongxin.party.models import PartyMember

    PartyMember.objects.create(resident=world.residents["a2"], member_type="resident")
    client = world.client("staff_a")
    response = client.get(reverse("people:roster_export"), {"community": world.community_a.pk})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    content = b"".join(response.streaming_content)
    rows = sheet(content)
    assert rows[0][:9] == ("小区", "楼栋", "单元", "房号", "户主", "户主电话", "人数", "党员户", "网格")
    assert sorted(r[:9] for r in rows[1:]) == [
        ("锦绣江山", "3栋", "2单元", "501", "张三", "139****0001", 1, None, "第一网格"),
        ("锦绣江山", "5栋", "2单元", "501", "李四", "139****0002", 1, "是", "第二网格"),
    ]
    log = AuditLog.objects.get(action="export")
    assert log.actor == world.users["staff_a"] and log.after == {"export": "grid_roster", "rows": 2}


def test_grid_worker_exports_only_their_grid(world):
    client = world.client("grid_1")
    response = client.get(reverse("people:roster_export"), {"grid": world.grid_1.pk})
    rows = sheet(b"".join(response.streaming_content))
    assert [r[4] for r in rows[1:]] == ["张三"]
    assert client.get(reverse("people:roster_export"), {"grid": world.grid_2.pk}).status_code == 404
    assert client.get(reverse("people:roster_export"), {"community": world.community_a.pk}).status_code == 404


@pytest.mark.parametrize(
    ("role", "param", "target", "status"),
    [
        ("staff_a", "community", "community_b", 404),
        ("staff_a", "grid", "grid_3", 404),
        ("property", "community", "community_a", 404),
        ("department", "grid", "grid_1", 404),
        ("admin", "community", "community_b", 200),
        ("staff_b", "grid", "grid_3", 200),
    ],
)
def test_roster_export_scope(world, role, param, target, status):
    response = world.client(role).get(reverse("people:roster_export"), {param: getattr(world, target).pk})
    assert response.status_code == status
    assert AuditLog.objects.filter(action="export").count() == (1 if status == 200 else 0)


def test_roster_export_query_count_does_not_grow_with_size(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tongxin.conftest import make_resident
    from tongxin.regions.models import Dwelling

    client = world.client("staff_a")
    client.get(reverse("people:import_list"))  # warm the session

    def export() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("people:roster_export"), {"community": world.community_a.pk})
        return len(queries), len(sheet(b"".join(response.streaming_content)))

    export()  # the process's memos warm (scope, places): the counts compare page sizes, not a cold start
    small = export()
    for n in range(10):
        d = Dwelling(number=f"9{n:02d}", floor=9)
        d.place_under(world.dwellings["a1"].entrance)
        d.save()
        make_resident(d, f"住户{n}", 40 + n)
    large = export()
    # then 10 more households cost no extra query, and the whole export stays a handful of queries
    assert (small[1], large[1]) == (3, 13)
    assert small[0] == large[0] <= 14  # 2 of them the audit row's hash chain (lock, previous hash)


def test_uploaded_import_files_are_private_and_deleted_after_the_import(
    world, settings, tmp_path, django_capture_on_commit_callbacks
):
    # given separate media and private folders
    settings.MEDIA_ROOT, settings.PRIVATE_ROOT = tmp_path / "media", tmp_path / "private"
    client = world.client("staff_a")
    rows = [["锦绣江山", "3栋", "2单元", "801", "8", "80"]]
    upload = SimpleUploadedFile("房屋.csv", csv_bytes(DWELLING_HEADER, rows))
    # when the file is uploaded (the worker has not run yet)
    response = client.post(reverse("people:import_list"), {"kind": "dwellings", "file": upload})
    job = ImportJob.objects.get()
    # then it is stored outside MEDIA_ROOT and no URL serves it
    stored = list((tmp_path / "private").rglob("*.csv"))
    assert len(stored) == 1 and not list((tmp_path / "media").rglob("*.csv"))
    assert client.get("/media/" + job.file.name).status_code == 404
    # when the import runs
    run_import_job(job.pk)
    job.refresh_from_db()
    # then it succeeded and the upload is gone
    assert response.status_code == 302 and job.status == "done"
    assert not job.file and not list((tmp_path / "private").rglob("*.csv"))


def test_a_failed_import_deletes_the_upload_too(world, settings, tmp_path):
    settings.PRIVATE_ROOT = tmp_path / "private"
    job = run(
        world.users["staff_a"],
        "dwellings",
        "x.csv",
        csv_bytes(DWELLING_HEADER, [["锦绣江山", "3栋", "", ""]]),
    )
    assert job.status == "failed" and not job.file
    assert not list((tmp_path / "private").rglob("*")) or all(
        p.is_dir() for p in (tmp_path / "private").rglob("*")
    )
