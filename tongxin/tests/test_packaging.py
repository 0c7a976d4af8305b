"""The built wheel carries what an installed Tongxin reads at run time: templates, static files (the npm
packages included), compiled translations, and the ``tongxin`` command; the lock file pins every package."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def wheel_names() -> set[str]:
    if shutil.which("make") is None or not (ROOT / "node_modules").is_dir():
        pytest.fail("building the wheel needs make and node_modules: run `make node`")
    result = subprocess.run(
        ["make", "--no-print-directory", "wheel"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)  # type: ignore[union-attr]
    with zipfile.ZipFile(ROOT / "dist" / f"tongxin-{version}-py3-none-any.whl") as wheel:
        return set(wheel.namelist())


def test_wheel_carries_every_template_and_static_file(wheel_names):
    # given the wheel `make wheel` builds, when listed, then every template and static file of the tree is in it
    tree = ROOT / "tongxin"
    wanted = {
        str(p.relative_to(ROOT))
        for p in tree.rglob("*")
        if p.is_file() and ("/templates/" in str(p) or "/static/" in str(p)) and "__pycache__" not in str(p)
    }
    assert wanted and not (wanted - wheel_names)
    assert "tongxin/templates/404.html" in wheel_names


def test_wheel_carries_compiled_translations_and_the_npm_packages(wheel_names):
    # given the wheel, then each catalogue is there compiled, and htmx, leaflet and chart.js are served from it
    catalogues = [str(p.relative_to(ROOT)) for p in (ROOT / "tongxin").rglob("LC_MESSAGES/*.po")]
    assert catalogues
    assert {c[:-3] + ".mo" for c in catalogues} <= wheel_names
    for vendored in (
        "tongxin/vendor_static/htmx.org/dist/htmx.min.js",
        "tongxin/vendor_static/leaflet/dist/leaflet.js",
        "tongxin/vendor_static/chart.js/dist/chart.umd.js",
    ):
        assert vendored in wheel_names
    entry_points = next(n for n in wheel_names if n.endswith("entry_points.txt"))
    assert entry_points


def test_lock_file_pins_every_runtime_package_with_hashes():
    # given requirements.lock (make lock), then each runtime dependency is pinned, each pin with a hash
    lock = (ROOT / "requirements.lock").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s\\]+)", lock, re.M)
    project = (ROOT / "pyproject.toml").read_text()
    direct = re.findall(
        r'^\s+"([A-Za-z0-9_.\-]+)(?:\[[^\]]+\])?==([^";]+)"',
        project.split("[project.optional-dependencies]")[0],
        re.M,
    )
    assert len(direct) >= 10
    locked = {name.lower().replace("_", "-"): version for name, version in pins}
    stale = {d: v for d, v in direct if locked.get(d.lower().replace("_", "-")) != v}
    assert not stale, f"pyproject pins not in requirements.lock (run `make lock`): {stale}"
    blocks = re.split(r"^(?=[A-Za-z0-9])", lock, flags=re.M)
    unhashed = [b.split()[0] for b in blocks if "==" in b and "--hash=sha256:" not in b]
    assert not unhashed
    assert ("reportlab", "4.2.5") not in pins


def test_gunicorn_configuration_loads_with_the_application(tmp_path):
    # given the shipped gunicorn configuration, when gunicorn checks it (it imports the WSGI application too)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--check-config",
            "--config",
            "deploy/gunicorn.conf.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    # then it is valid
    assert result.returncode == 0, result.stdout + result.stderr
