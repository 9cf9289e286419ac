"""The panel as it ships: a wheel with everything inside, installed into a fresh venv, runs.

Also: the constraints file pins exactly what the ranges in pyproject.toml allow and what this
venv holds (CI installs with it), and ruff has an upper bound.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CATALOGS = sorted((ROOT / "kyogikai/translations").glob("*/LC_MESSAGES/*.po"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built as from a fresh clone: the files git knows, none of the ignored (.mo, build/)."""
    clone = tmp_path_factory.mktemp("clone")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    assert not list(clone.rglob("*.mo"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--disable-pip-version-check", "-w", str(out),
                    str(clone)], check=True, capture_output=True)
    (built,) = out.glob("*.whl")
    return built


def test_the_wheel_carries_templates_static_catalogs_migrations_and_demo(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for source in ROOT.joinpath("kyogikai").rglob("*"):
        relative = source.relative_to(ROOT).as_posix()
        if source.is_file() and "__pycache__" not in relative and not relative.endswith(".mo"):
            assert relative in names, f"{relative} is missing from the wheel"
    for po in CATALOGS:
        assert po.relative_to(ROOT).with_suffix(".mo").as_posix() in names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)


def _entries(catalog, skip_untranslated: bool) -> dict:
    """msgid → msgstr; plural forms as tuples, as the .po and the .mo spell them differently."""
    entries = {}
    for message in catalog:
        key, text = message.id, message.string
        key = tuple(key) if isinstance(key, list | tuple) else key
        text = tuple(text) if isinstance(text, list | tuple) else text
        translated = any(text) if isinstance(text, tuple) else bool(text)
        if key and not (skip_untranslated and (not translated or message.fuzzy)):
            entries[key] = text
    return entries


def test_the_compiled_catalogs_say_what_the_po_files_say(wheel):
    archive = zipfile.ZipFile(wheel)
    for po in CATALOGS:
        with po.open("rb") as fh:
            expected = _entries(read_po(fh), skip_untranslated=True)
        with archive.open(po.relative_to(ROOT).with_suffix(".mo").as_posix()) as fh:
            compiled = _entries(read_mo(fh), skip_untranslated=False)
        assert compiled == expected, po.name
        assert po.stem == "messages" or len(compiled) > 50  # Flask-Admin's, WTForms': complete


RUN_FROM_THE_WHEEL = r"""
import pathlib, re, sys
import kyogikai
assert pathlib.Path(kyogikai.__file__).is_relative_to(sys.prefix), kyogikai.__file__
app = kyogikai.create_app({"TESTING": True})
client = app.test_client()
assert client.get("/healthz").status_code == 200
logins = pathlib.Path(app.instance_path, "demo-logins.txt").read_text(encoding="utf-8")
login, password = re.search(r"ログインID (demo-coordinator)\s+パスワード (\S+)", logins).groups()
page = client.get("/login").get_data(as_text=True)
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
assert client.post("/login", data={"login": login, "password": password,
                                   "csrf_token": token}).status_code == 302
body = client.get("/admin/agency/").get_data(as_text=True)
assert '<html lang="ja">' in body and "関係機関" in body
# Flask-Admin's own words come from our compiled admin catalog, not its stale one.
assert "一覧" in body and "条件を追加" in body, "Flask-Admin words are not Japanese"
english = re.findall(r">\s*(List|Create|Details|Search|Add Filter)\b", body)
assert not english, english
print("OK")
"""


def test_a_fresh_venv_runs_the_app_from_the_wheel(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True)
    # The dependencies come from this venv (no network); a .pth adds its site-packages as a
    # plain path, so its editable install of the checkout is not processed and cannot shadow
    # the wheel.
    purelib = Path(subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    (purelib / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"  # not the checkout: nothing may come from the source tree
    work.mkdir()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'panel.sqlite3'}",
           "INSTANCE_PATH": str(work / "instance"), "PYTHONSAFEPATH": "1",
           "TOTP_REQUIRED_ROLES": ""}  # the demo's coordinator signs in with a password alone
    env.pop("SECRET_KEY", None)

    def run(*args):
        done = subprocess.run([python, *args], cwd=work, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-1500:]
        return done

    run("-m", "flask", "--app", "kyogikai", "db", "upgrade")
    assert "架空のデモデータを投入しました" in run("-m", "flask", "--app", "kyogikai",
                                                   "demo-data").stdout
    assert run("-c", RUN_FROM_THE_WHEEL).stdout.strip().endswith("OK")


def _requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    listed = project["dependencies"] + [r for group in project["optional-dependencies"].values()
                                        for r in group]
    return [Requirement(r) for r in listed]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"constraints.txt: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = pinned
    return pins


def test_constraints_pin_every_dependency_within_its_range():
    pins = _pins()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} has no pin: run bash scripts/lock.sh"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} is outside {requirement.specifier} of pyproject.toml")


def test_this_venv_holds_exactly_the_pinned_versions():
    drift = {}
    for name, pinned in _pins().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            drift[name] = (pinned, installed)
    assert drift == {}, "run bash scripts/bootstrap.sh, or bash scripts/lock.sh after a change"


def test_ruff_has_an_upper_bound():
    (ruff,) = [r for r in _requirements() if r.name == "ruff"]
    assert any(spec.operator in ("<", "<=", "==", "~=") for spec in ruff.specifier)


def test_bootstrap_installs_with_the_constraints():
    script = (ROOT / "scripts/bootstrap.sh").read_text(encoding="utf-8")
    assert re.search(r"-c constraints\.txt", script)
