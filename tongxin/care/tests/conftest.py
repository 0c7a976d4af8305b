"""Care fixtures: a case category (the default tree comes from a data migration a transactional test flushes)."""

from __future__ import annotations

import importlib

import pytest


@pytest.fixture
def default_categories_db(transactional_db):
    from django.apps import apps

    from tongxin.cases.models import Category

    if not Category.objects.exists():
        importlib.import_module("tongxin.cases.migrations.0002_default_categories").forwards(apps, None)
    return Category.objects.filter(active=True).order_by("pk").first()
