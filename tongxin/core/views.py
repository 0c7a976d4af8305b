from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.core import audit
from tongxin.core.models import AuditLog, User
from tongxin.regions.choices import Role
from tongxin.regions.scoping import scope_for


class LockoutAuthenticationForm(AuthenticationForm):
    """Tells a locked-out user why, instead of the generic 'wrong password'."""

    def clean(self) -> dict:
        username = self.cleaned_data.get("username")
        user = User.objects.filter(username=username).first() if username else None
        if user is not None and user.is_locked:
            raise ValidationError(_("登录失败次数过多，账号已临时锁定，请稍后再试。"), code="locked")
        cleaned = super().clean()
        return cleaned


class TongxinLoginView(LoginView):
    template_name = "core/login.html"
    authentication_form = LockoutAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        audit.record(AuditLog.Action.LOGIN, form.get_user(), actor=form.get_user())
        return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("已退出登录"))
    return redirect("core:login")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    role_labels = [label for value, label in Role.choices if value in scope.roles]
    return render(request, "core/home.html", {"scope": scope, "role_labels": role_labels})


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """Read-only audit trail for subdistrict admins (and superusers)."""
    if not scope_for(request.user).has_role("subdistrict_admin"):
        raise Http404
    qs = AuditLog.objects.select_related("actor").order_by("-at", "-id")
    if request.GET.get("object_type"):
        qs = qs.filter(object_type=request.GET["object_type"])
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "core/audit.html", {"page": page})
