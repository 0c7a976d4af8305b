"""Browser-test fixtures of the dashboard: the shared ones (``chromium``, ``new_page``, ``login``, ``measure``,
``sms_outbox`` …) live in tongxin/conftest.py so that every app's browser tests use one browser per process."""
