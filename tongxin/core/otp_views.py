"""Resident sign-in pages: phone number, then the one-time code (see :mod:`tongxin.core.otp`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from tongxin.core import otp


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return reverse("cases:resident_home")


def phone_login(request: HttpRequest) -> HttpResponse:
    """Step 1 (phone) and step 2 (code) on one page, so a phone user never loses their place."""
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
        "core/otp_login.html",
        {"step": step, "error": error, "phone_masked": otp.pending_phone(request), "next": _next(request)},
    )
