"""Case work pages added with issue 9: 改类 (a form that recomputes the deadlines) and the street's rating of a
whistled department on the web. Thin: the policy decides who reaches them, one service call does the work."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.cases import services, sla
from tongxin.cases.choices import CaseError
from tongxin.cases.models import Case, Category, WhistleCall
from tongxin.core import policy


def _case(request: HttpRequest, action: str, pk: int) -> Case:
    return policy.get_or_deny(
        Case.objects.select_related("category__policy", "grid", "property_company", "department"),
        request.user,
        action,
        pk=pk,
    )


@policy.page("cases.reclassify", model="cases.Case")
def reclassify(request: HttpRequest, pk: int) -> HttpResponse:
    """改类: choose the new category; the page shows what the new clock will be before it is saved."""
    case = _case(request, "cases.reclassify", pk)
    categories = list(
        Category.objects.filter(active=True).select_related("policy", "parent").order_by("sort_order", "id")
    )
    error = ""
    if request.method == "POST":
        code = request.POST.get("category", "")
        try:
            services.reclassify(case, request.user, code, reason=request.POST.get("reason", ""))
        except CaseError as exc:
            error = exc.message
        else:
            messages.success(request, _("已改类，时限已按新类别重新计算"))
            return redirect("cases:case_detail", pk=case.pk)
    from django.utils import timezone

    now = timezone.now()
    options: list[dict[str, Any]] = [
        {
            "category": c,
            "resolve_by": sla.compute(c.policy, now).resolve_by,
            "current": c.pk == case.category_id,
        }
        for c in categories
    ]
    return render(
        request,
        "cases/reclassify.html",
        {"case": case, "options": options, "error": error, "chosen": request.POST.get("category", "")},
        status=400 if error else 200,
    )


@policy.page("cases.rate_department", model="cases.Case")
@require_POST
def rate_department(request: HttpRequest, pk: int) -> HttpResponse:
    """评价权: the street rates a whistled department 1–5 on the case page (the department panel's form)."""
    case = _case(request, "cases.rate_department", pk)
    call = WhistleCall.objects.filter(case=case, pk=request.POST.get("call") or 0).first()
    raw = request.POST.get("rating", "")
    try:
        if call is None:
            raise CaseError(_("请选择要评价的部门"))
        if not raw.isdigit():
            raise CaseError(_("请选择1到5分"))
        services.rate_department(call, request.user, int(raw), request.POST.get("comment", ""))
    except CaseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已评价%(d)s") % {"d": call.department})
    return redirect("cases:case_detail", pk=case.pk)


urlpatterns = [
    path("<int:pk>/reclassify/", reclassify, name="reclassify"),
    path("<int:pk>/rate-department/", rate_department, name="rate_department"),
]
