from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from tongxin.core import captcha, policy
from tongxin.core.models import AuditLog

AUDIT_PAGE_SIZE = 50


class AuditFilter(forms.Form):
    actor = forms.CharField(label=_("操作人"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=_("操作"), required=False, choices=[("", _("全部")), *AuditLog.Action.choices]
    )
    object_type = forms.CharField(label=_("对象类型"), required=False, max_length=60)
    object_id = forms.CharField(label=_("对象编号"), required=False, max_length=40)
    ip = forms.GenericIPAddressField(label=_("来源IP"), required=False)
    since = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def diff_rows(before: Any, after: Any) -> list[tuple[str, str, str]]:
    """Field by field (name, before, after) of one audit row, for the diff column."""
    if isinstance(before, dict) or isinstance(after, dict):
        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        keys = list(dict.fromkeys([*old, *new]))
        return [(k, _text(old.get(k)), _text(new.get(k))) for k in keys]
    if before is None and after is None:
        return []
    return [("", _text(before), _text(after))]


@policy.page("core.view_audit")
def audit_log(request: HttpRequest) -> HttpResponse:
    """Read-only audit trail, filterable by who, what, which object, where from and when (rule
    ``core.view_audit``: subdistrict admins and superusers)."""
    form = AuditFilter(request.GET or None)
    qs = AuditLog.objects.select_related("actor").order_by("-at", "-id")
    if form.is_valid():
        data = form.cleaned_data
        if data["actor"]:
            qs = qs.filter(actor__username=data["actor"]) | qs.filter(actor__display_name=data["actor"])
        for name in ("action", "object_type", "object_id", "ip"):
            if data[name]:
                qs = qs.filter(**{name: data[name]})
        if data["since"]:
            qs = qs.filter(at__date__gte=data["since"])
        if data["until"]:
            qs = qs.filter(at__date__lte=data["until"])
    page = Paginator(qs, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    for entry in page.object_list:
        entry.diff = diff_rows(entry.before, entry.after)  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "core/audit.html", {"page": page, "form": form, "query": query.urlencode()})


@policy.public
def captcha_image(request: HttpRequest) -> HttpResponse:
    """A new captcha for this session (the login and SMS-code forms show it after repeated failures)."""
    response = HttpResponse(captcha.new_challenge(request), content_type="image/png")
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """The Chinese 500 page with the request id to quote. Rendered without context processors: the error may be
    the database itself, which the menu would query."""
    from django.http import HttpResponseServerError
    from django.template import loader

    return HttpResponseServerError(loader.get_template("500.html").render({"request": request}))
