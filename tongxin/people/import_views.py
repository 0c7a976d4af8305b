"""Import pages (一表导入): upload, progress, error report, templates; and the grid roster export.

Only subdistrict admins and community staff import, and only into their scope (checked row by row in
:mod:`tongxin.people.imports`). Everyone else gets 404, like anything outside their scope.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.core import policy
from tongxin.core.exports import attachment
from tongxin.core.models import ImportJob
from tongxin.people import imports
from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Grid, Region

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 300 * 1024 * 1024


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("导入类型"), choices=imports.kind_choices)
    file = forms.FileField(label=gettext_lazy("文件（.xlsx 或 .csv）"))

    def clean_file(self) -> Any:
        f = self.cleaned_data["file"]
        if Path(f.name).suffix.lower() not in (".xlsx", ".csv"):
            raise forms.ValidationError(_("只支持 .xlsx 和 .csv 文件"))
        if f.size > MAX_UPLOAD:
            raise forms.ValidationError(_("文件太大"))
        return f


def _job_for(request: HttpRequest, pk: int) -> ImportJob:
    return policy.get_or_deny(ImportJob.objects.all(), request.user, "people.view_import", pk=pk)


@policy.page("people.import")
def import_list(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = ImportJob.objects.create(
            kind=form.cleaned_data["kind"],
            file=upload,
            original_name=Path(upload.name).name[:200],
            created_by_id=int(request.user.pk or 0),
        )
        from tongxin.people.tasks import run_import_job

        transaction.on_commit(lambda: run_import_job(job.pk))
        return redirect("people:import_detail", pk=job.pk)
    jobs = ImportJob.objects.filter(created_by_id=request.user.pk).order_by("-created_at")[:30]
    return render(
        request,
        "people/import_list.html",
        {"form": form, "jobs": jobs, "kinds": list(imports.KINDS.values())},
    )


@policy.page("people.view_import", model="core.ImportJob")
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    errors = job.errors or []
    return render(
        request,
        "people/import_detail.html",
        {
            "job": job,
            "kind_label": imports.KINDS[job.kind].label if job.kind in imports.KINDS else job.kind,
            "errors": errors[:500],
            "more_errors": max(len(errors) - 500, 0),
            "unchanged": imports.unchanged_count(job),
            "active": job.status in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING),
        },
    )


@policy.page("people.view_import", model="core.ImportJob")
def import_status(request: HttpRequest, pk: int) -> JsonResponse:
    job = _job_for(request, pk)
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "processed_rows": job.processed_rows,
            "total_rows": job.total_rows,
            "progress": job.progress,
        }
    )


@policy.page("people.view_import", model="core.ImportJob")
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    response = HttpResponse(imports.errors_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = attachment(
        f"导入错误-{job.original_name.rsplit('.', 1)[0]}-{job.pk}.csv"
    )
    response["Cache-Control"] = "no-store"
    return response


@policy.page("people.import")
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in imports.KINDS:
        raise Http404
    response = HttpResponse(imports.template_workbook(kind), content_type=XLSX)
    response["Content-Disposition"] = attachment(f"{imports.KINDS[kind].label}导入模板.xlsx")
    return response


@policy.page("people.export_roster", model="regions.Grid", query="grid")
def roster_export(request: HttpRequest) -> FileResponse:
    """Grid roster (小区、楼栋、单元、户主、党员户) as .xlsx: ``?grid=<id>`` or ``?community=<id>``, scoped."""
    grid_id, community_id = request.GET.get("grid", ""), request.GET.get("community", "")
    if grid_id.isdigit():
        grid = policy.get_or_deny(
            Grid.objects.all(), request.user, "people.view_grid_roster", pk=int(grid_id)
        )
        data, filename = imports.export_roster(request.user, grid=grid)
    elif community_id.isdigit():
        community = get_object_or_404(
            Region.objects.visible_to(request.user), pk=int(community_id), kind=RegionKind.COMMUNITY
        )
        data, filename = imports.export_roster(request.user, community=community)
    else:
        raise Http404
    import io

    response = FileResponse(io.BytesIO(data), as_attachment=True, filename=filename, content_type=XLSX)
    response["Cache-Control"] = "no-store"  # a roster of people: no proxy or browser cache keeps a copy
    return response


urlpatterns = [
    path("imports/", import_list, name="import_list"),
    path("imports/<int:pk>/", import_detail, name="import_detail"),
    path("imports/<int:pk>/status/", import_status, name="import_status"),
    path("imports/<int:pk>/errors.csv", import_errors, name="import_errors"),
    path("imports/template/<str:kind>.xlsx", import_template, name="import_template"),
    path("roster/export/", roster_export, name="roster_export"),
]
