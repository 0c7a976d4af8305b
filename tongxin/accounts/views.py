"""Signing in and out (password for staff, phone + one-time code for residents), the home page, the inbox and
the notification preferences."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from tongxin.accounts import otp, services
from tongxin.accounts.forms import LockoutAuthenticationForm
from tongxin.core import audit, notifications, policy
from tongxin.core.models import AuditLog
from tongxin.regions.choices import Role
from tongxin.regions.policy import STAFF
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
            otp.request_code(request, request.POST.get("phone", ""), request.POST.get("captcha"))
            step = "code"
        except otp.OtpError as exc:
            error = str(exc)
            step = "code" if "code" in request.POST and otp.pending_phone(request) else "phone"
    return render(
        request,
        "accounts/otp_login.html",
        {
            "step": step,
            "error": error,
            "phone_masked": otp.pending_phone(request),
            "next": _next(request),
            "needs_captcha": step == "phone" and otp.captcha_required(request),
        },
    )


# --- the inbox ------------------------------------------------------------------------------------------------

INBOX_PAGE_SIZE = 30


@policy.page("accounts.view_notifications")
def inbox(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first; ``?unread=1`` shows only the unread ones."""
    qs = services.inbox(request.user)
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        qs = qs.filter(read_at__isnull=True)
    page = Paginator(qs, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "only_unread": only_unread, "phone_layout": phone_layout(request.user)}
    return render(request, "accounts/inbox.html", context)


def phone_layout(user: Any) -> bool:
    """Residents, members and volunteers without a staff role get the phone layout."""
    return not (policy.roles_of(user) & (STAFF | {policy.SUPERUSER}))


@policy.page("accounts.read_notifications", model="core.Notification")
@require_POST
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark read, then follow the notification's link (a path on this site; anything else stays in the inbox)."""
    note = services.mark_read(request.user, pk)
    if note.link and url_has_allowed_host_and_scheme(note.link, {request.get_host()}):
        return redirect(note.link)
    return redirect("accounts:inbox")


@policy.page("accounts.read_notifications")
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    n = services.mark_all_read(request.user)
    messages.success(request, _("已将%(n)d条消息标为已读") % {"n": n})
    return redirect("accounts:inbox")


@policy.page("accounts.edit_preferences")
def preferences(request: HttpRequest) -> HttpResponse:
    """Per kind of notification: SMS and WeChat on or off (the inbox always gets everything), and the SMS number."""
    error = ""
    if request.method == "POST":
        pairs = (v.split(":", 1) for v in request.POST.getlist("on") if v.count(":") == 1)
        enabled = {(kind, ch) for kind, ch in pairs if ch in notifications.optional_channels()}
        # an empty field keeps the number; the "remove" button clears it
        typed = (request.POST.get("phone") or "").strip()
        phone: str | None = "" if "clear_phone" in request.POST else (typed or None)
        try:
            services.save_preferences(request.user, enabled, phone)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("消息接收设置已保存"))
            return redirect("accounts:preferences")
    address = services.address_of(request.user)
    context = {
        "rows": services.preference_table(request.user),
        "channels": [(c, CHANNEL_LABELS[c]) for c in notifications.optional_channels()],
        "phone_masked": address.phone_masked if address else "",
        "wechat_bound": bool(address and address.wechat_openid),
        "wechat": notifications.WECHAT in notifications.optional_channels(),
        "error": error,
        "phone_layout": phone_layout(request.user),
    }
    return render(request, "accounts/preferences.html", context)


CHANNEL_LABELS = {notifications.SMS: _lazy("短信"), notifications.WECHAT: _lazy("微信")}
