from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _lazy

from tongxin.core import auth, captcha

# One answer for a locked name, whether or not the account exists (see tongxin.core.auth).
LOCKED_MESSAGE = _lazy("登录失败次数过多，请稍后再试；如需立即登录，请联系管理员。")


class LockoutAuthenticationForm(AuthenticationForm):
    """The staff login form: a captcha after repeated failures, and the same lockout answer for every name."""

    captcha = forms.CharField(label=_lazy("验证码"), required=False, max_length=8)

    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": LOCKED_MESSAGE,
        "captcha": _lazy("请正确填写图中算式的结果"),
    }

    @property
    def needs_captcha(self) -> bool:
        username = self.data.get("username") if self.is_bound else None
        return auth.captcha_required(self.request, username)

    def clean(self) -> dict:
        username = self.cleaned_data.get("username")
        if auth.is_locked_out(self.request, username):
            raise ValidationError(self.error_messages["locked"], code="locked")
        if auth.captcha_required(self.request, username) and not (
            self.request is not None and captcha.check(self.request, self.cleaned_data.get("captcha"))
        ):
            raise ValidationError(self.error_messages["captcha"], code="captcha")
        try:
            return super().clean()
        except ValidationError:
            if getattr(self.request, "_tongxin_locked_out", False):
                raise ValidationError(self.error_messages["locked"], code="locked") from None
            raise
