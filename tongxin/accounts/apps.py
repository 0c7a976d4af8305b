from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Signing in (password, phone + one-time code), API tokens, the home page, the menu and the inbox.

    Above ``people`` and ``regions`` (it finds a resident's account by phone and shows roles), beside ``party``;
    the user model itself stays in ``core`` (see docs/architecture.md)."""

    name = "tongxin.accounts"
    label = "accounts"
    verbose_name = "账号"
