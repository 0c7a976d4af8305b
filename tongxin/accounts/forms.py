from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tongxin.core.models import User


class LockoutAuthenticationForm(AuthenticationForm):
    """Tells a locked-out user why, instead of the generic 'wrong password'."""

    def clean(self) -> dict:
        username = self.cleaned_data.get("username")
        user = User.objects.filter(username=username).first() if username else None
        if user is not None and user.is_locked:
            raise ValidationError(_("登录失败次数过多，账号已临时锁定，请稍后再试。"), code="locked")
        cleaned = super().clean()
        return cleaned
