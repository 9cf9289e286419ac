"""Build hook: the wheel carries compiled catalogs (.mo), so an installed panel speaks Japanese.

The .mo files are git-ignored (bootstrap compiles them in a checkout); here they are compiled from
the .po files straight into the build directory. A fuzzy or broken catalog stops the build rather
than shipping English.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGS = "kyogikai/translations"


class build_py_with_catalogs(build_py):  # noqa: N801 (setuptools command naming)
    def run(self):
        super().run()
        if not self.editable_mode:
            compile_catalogs(Path(CATALOGS), Path(self.build_lib) / CATALOGS)


def compile_catalogs(source: Path, target: Path) -> list[Path]:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po_path in sorted(source.glob("*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=po_path.parts[-3], domain=po_path.stem)
        if catalog.fuzzy:
            raise SystemExit(f"{po_path}: the catalog is marked fuzzy; fix it before building")
        mo_path = target / po_path.relative_to(source).with_suffix(".mo")
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with mo_path.open("wb") as fh:
            write_mo(fh, catalog)
        written.append(mo_path)
    if not written:
        raise SystemExit(f"no catalogs found under {source}")
    return written


setup(cmdclass={"build_py": build_py_with_catalogs})
