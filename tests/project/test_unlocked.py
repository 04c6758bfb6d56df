"""tools/unlocked.py, which nox runs after installing a lock into an environment it reuses:
in a real environment, with real pip, what the lock no longer pins goes, and the rest stays."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

from labdocs.pages import ROOT
from tools.unlocked import names


def test_a_lock_s_names_are_normalized_and_extras_dropped():
    lock = "Flask_WTF==1.2.2 \\\n    --hash=sha256:x\nmlflow[auth]==3.17.2\n# a comment\n"
    assert names(lock) == {"flask-wtf", "mlflow"}


def plant(site_packages: Path, name: str) -> Path:
    """An installed distribution ``name`` 1.0 of one module, as pip records one."""
    module = site_packages / f"{name.replace('-', '_')}.py"
    module.write_text("")
    info = site_packages / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "INSTALLER").write_text("pip\n")
    files = [module.name, *(f"{info.name}/{f}" for f in ("METADATA", "INSTALLER", "RECORD"))]
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files))
    return module


def test_what_the_lock_no_longer_pins_is_uninstalled(tmp_path: Path):
    environment = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(environment)
    (site_packages,) = environment.glob("lib/python*/site-packages")
    kept, dropped = plant(site_packages, "kept-package"), plant(site_packages, "Dropped_Package")
    lock = tmp_path / "lock.txt"
    lock.write_text("kept-package==1.0 \\\n    --hash=sha256:00\n")

    def unlocked() -> str:
        done = subprocess.run(
            [str(environment / "bin" / "python"), "-m", "tools.unlocked", str(lock)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert unlocked() == "dropped-package\n"
    assert kept.exists() and not dropped.exists()
    listed = subprocess.run(
        [str(environment / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    assert "kept-package==1.0" in listed and "Dropped" not in listed
    assert "pip==" in listed  # what every environment starts with stays
    assert unlocked() == ""  # nothing left to remove
