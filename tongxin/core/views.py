from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tongxin.core import policy
from tongxin.core.models import AuditLog


@policy.page("core.view_audit")
def audit_log(request: HttpRequest) -> HttpResponse:
    """Read-only audit trail (the rule ``core.view_audit``: subdistrict admins and superusers)."""
    qs = AuditLog.objects.select_related("actor").order_by("-at", "-id")
    if request.GET.get("object_type"):
        qs = qs.filter(object_type=request.GET["object_type"])
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "core/audit.html", {"page": page})


def server_error(request: HttpRequest) -> HttpResponse:
    """The Chinese 500 page with the request id to quote. Rendered without context processors: the error may be
    the database itself, which the menu would query."""
    from django.http import HttpResponseServerError
    from django.template import loader

    return HttpResponseServerError(loader.get_template("500.html").render({"request": request}))
