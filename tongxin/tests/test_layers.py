"""The layer order of the apps holds: `make lint` runs import-linter's contract from pyproject.toml
(docs/architecture.md, "Layers"), and an import against the order fails it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The project's Python sources and pyproject.toml, copied so an import can be added without touching them."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        ROOT / "tongxin",
        tmp_path / "tongxin",
        ignore=shutil.ignore_patterns("static", "templates", "locale", "__pycache__", "*.mo", "*.po"),
    )
    return tmp_path


def test_the_current_tree_keeps_the_layer_contract():
    # given the repository as it is, when the contract is checked, then it is kept
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("tongxin/core/views.py", "tongxin.people.models"),  # core imports a domain app
        ("tongxin/people/services.py", "tongxin.accounts.otp"),  # a lower app imports a higher one
        ("tongxin/cases/services.py", "tongxin.points.models"),  # siblings of one layer import each other
    ],
)
def test_an_import_against_the_layer_order_breaks_it(tree_copy: Path, importer: str, imported: str):
    # given a copy of the tree where a module imports against the layer order
    module = tree_copy / importer
    module.write_text(module.read_text(encoding="utf-8") + f"\nimport {imported}  # noqa\n", encoding="utf-8")
    # when the contract is checked
    result = lint_imports(tree_copy)
    # then it is broken, and the report names the offending import
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    source = importer.removesuffix(".py").replace("/", ".")
    assert f"{source} -> {imported}" in result.stdout, result.stdout


def test_a_new_app_must_take_a_place_in_the_order(tree_copy: Path):
    # given a new top-level app that the contract does not place
    (tree_copy / "tongxin" / "newapp").mkdir()
    (tree_copy / "tongxin" / "newapp" / "__init__.py").write_text("", encoding="utf-8")
    # when the contract is checked, then it is broken (the contract is exhaustive)
    result = lint_imports(tree_copy)
    assert result.returncode != 0 and "newapp" in result.stdout, result.stdout
