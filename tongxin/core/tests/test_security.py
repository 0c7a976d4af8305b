import importlib

from django.contrib.auth.hashers import make_password
from django.test import override_settings

import tongxin.settings as project_settings


def test_passwords_are_hashed_with_argon2_in_the_shipped_settings():
    # given the settings the project ships (tests swap in a fast hasher, production must not)
    hashers = importlib.reload(project_settings).PASSWORD_HASHERS
    # when a password is hashed with them
    with override_settings(PASSWORD_HASHERS=hashers):
        encoded = make_password("tongxin2026")
    # then it is an argon2 hash
    assert hashers[0].endswith("Argon2PasswordHasher")
    assert encoded.startswith("argon2$")


def test_production_mode_refuses_to_start_without_secrets(monkeypatch):
    # given production mode with no SECRET_KEY
    monkeypatch.setenv("TONGXIN_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    # when the settings are loaded, then they fail fast and say why
    try:
        importlib.reload(project_settings)
    except Exception as exc:
        assert "SECRET_KEY" in str(exc)
    else:
        raise AssertionError("production settings loaded without SECRET_KEY")
    finally:
        monkeypatch.setenv("TONGXIN_ENV", "development")
        importlib.reload(project_settings)
