"""Signing in and out (password for staff, phone + one-time code for residents) and the home page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.accounts import otp
from tongxin.accounts.forms import LockoutAuthenticationForm
from tongxin.core import audit, policy
from tongxin.core.models import AuditLog
from tongxin.regions.choices import Role
from tongxin.regions.scoping import scope_for


class TongxinLoginView(LoginView):
    """Staff sign in with a password (public: see accounts/urls.py)."""

    template_name = "accounts/login.html"
    authentication_form = LockoutAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        audit.record(AuditLog.Action.LOGIN, form.get_user(), actor=form.get_user())
        return response


@policy.public
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("已退出登录"))
    return redirect("accounts:login")


@policy.page("accounts.view_home")
def home(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    role_labels = [label for value, label in Role.choices if value in scope.roles]
    return render(request, "accounts/home.html", {"scope": scope, "role_labels": role_labels})


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return reverse("cases:resident_home")


@policy.public
def phone_login(request: HttpRequest) -> HttpResponse:
    """Residents: step 1 (phone) and step 2 (code) on one page, so a phone user never loses their place."""
    if request.user.is_authenticated and request.method == "GET" and "again" not in request.GET:
        return redirect(_next(request))
    error = ""
    step = "code" if otp.pending_phone(request) and "again" not in request.GET else "phone"
    if request.method == "POST":
        try:
            if "code" in request.POST:
                otp.verify_code(request, request.POST["code"])
                return redirect(_next(request))
            otp.request_code(request, request.POST.get("phone", ""))
            step = "code"
        except otp.OtpError as exc:
            error = str(exc)
            step = "code" if "code" in request.POST and otp.pending_phone(request) else "phone"
    return render(
        request,
        "accounts/otp_login.html",
        {"step": step, "error": error, "phone_masked": otp.pending_phone(request), "next": _next(request)},
    )
