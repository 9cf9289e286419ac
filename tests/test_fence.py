"""The fence around private upstream names (kyogikai/admin_views/fence.py) holds.

Fails when a fenced package's installed version is not the one the entries were checked
against, when a listed name is gone upstream, when the code uses a private upstream name that is
not listed, or when a listed name is no longer used (a stale entry hides the real list).
"""

import ast
import importlib
import inspect
from functools import cache
from importlib.metadata import version
from pathlib import Path

import pytest

import kyogikai
from kyogikai.admin_views.fence import (
    CHECKED_VERSIONS,
    PACKAGES,
    PRIVATE_NAMES,
    USED_IN,
    Private,
)

PROJECT = Path(kyogikai.__file__).parent


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defined_in(source: str, class_name: str | None) -> set[str]:
    """Private names a module (or one class of it) defines, assigns or reads from self."""
    tree = ast.parse(source)
    if class_name is not None:
        tree = next(node for node in ast.walk(tree)
                    if isinstance(node, ast.ClassDef) and node.name == class_name)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return {name for name in names if _private(name)}


@cache
def _package_private_names(package: str) -> frozenset[str]:
    root = Path(importlib.import_module(package).__file__).parent
    names = set()
    for path in root.rglob("*.py"):
        if "tests" not in path.parts:
            names |= _defined_in(path.read_text(encoding="utf-8"), None)
    return frozenset(names)


@cache
def _project_uses() -> dict[str, set[str]]:
    """Private names the project touches: attributes, method definitions, getattr strings."""
    uses: dict[str, set[str]] = {}
    for path in PROJECT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = None
            if isinstance(node, ast.Attribute):
                name = node.attr
            elif isinstance(node, ast.FunctionDef):
                name = node.name
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in ("getattr", "hasattr", "setattr") and len(node.args) > 1
                  and isinstance(node.args[1], ast.Constant)
                  and isinstance(node.args[1].value, str)):
                name = node.args[1].value
            if name and _private(name):
                uses.setdefault(name, set()).add(f"{path.relative_to(PROJECT.parent)}:{node.lineno}")
    return uses


def _upstream_uses() -> dict[str, set[str]]:
    """Private upstream names the project touches, each package's where it may (USED_IN)."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        upstream, scope = _package_private_names(package), USED_IN.get(package, "")
        for name, where in _project_uses().items():
            where = {place for place in where if place.startswith(scope)}
            if name in upstream and where:
                found.setdefault(name, set()).update(where)
    return found


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_installed_version_is_the_one_checked(package):
    distribution = PACKAGES[package]
    assert version(distribution) == CHECKED_VERSIONS[distribution], (
        f"{distribution} {version(distribution)} is installed, the fence was checked against "
        f"{CHECKED_VERSIONS[distribution]}: re-read every entry of kyogikai/admin_views/fence.py "
        "against the new source, then update CHECKED_VERSIONS")


@pytest.mark.parametrize("entry", PRIVATE_NAMES, ids=lambda e: f"{e.where}.{e.name}")
def test_each_listed_name_still_exists_upstream(entry: Private):
    module_name, _, class_name = entry.where.partition(":")
    module = importlib.import_module(module_name)
    if not class_name:
        assert entry.name in _defined_in(inspect.getsource(module), None)
        return
    cls = getattr(module, class_name)
    found = hasattr(cls, entry.name) or any(
        entry.name in _defined_in(inspect.getsource(inspect.getmodule(klass)), klass.__name__)
        for klass in cls.__mro__ if klass.__module__.startswith(entry.package))
    assert found, f"{entry.where} no longer has {entry.name}: see why we used it: {entry.reason}"
    assert entry.use in ("override", "call", "read", "write") and entry.reason


def test_every_private_upstream_name_the_code_uses_is_listed():
    listed = {entry.name for entry in PRIVATE_NAMES}
    unlisted = {name: sorted(where) for name, where in _upstream_uses().items()
                if name not in listed}
    assert unlisted == {}, "add these to kyogikai/admin_views/fence.py, with the reason"


def test_every_listed_name_is_still_used():
    used = _upstream_uses()
    stale = [entry.name for entry in PRIVATE_NAMES if entry.name not in used]
    assert stale == [], "no longer used: remove them from kyogikai/admin_views/fence.py"


def test_entries_are_unique():
    keys = [(entry.where, entry.name) for entry in PRIVATE_NAMES]
    assert len(keys) == len(set(keys))
