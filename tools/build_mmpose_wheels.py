"""Build, once, the two wheels of the real MMPose stack that PyPI cannot give us here.

    python -m tools.build_mmpose_wheels        (nox -s mmpose runs it)

It prints the paths of the two wheels on stdout, one a line, and nothing else there: the
build's own output goes to stderr.

- ``mmcv`` with its compiled ops: ``mmpose.visualization`` imports ``mmpose.apis``, which
  imports every model, which imports ``mmcv.ops``; PyPI has no mmcv wheel for torch 2.13.
- ``xtcocotools``, for ``CocoMetric``: PyPI's wheel was built against numpy 1 and breaks on
  numpy 2 ("dtype size changed"); built from source it works (its mask code needs one
  renamed numpy constant, patched below).

Building mmcv takes about 17 minutes on 2 cores, so the wheels are cached outside the
repository, under ``$DOCS_WHEEL_CACHE`` (default ``~/.cache/mindgarage-docs/wheels``), in a
folder named by a hash of everything that goes into them: the recipe below, the Python
version and the torch version they are built against. Nothing changed, nothing is built.

Run it with the Python of the environment that will install them: the build uses that
environment's torch, numpy, setuptools, ninja and cython (``--no-build-isolation``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

SOURCES = {"mmcv": "2.1.0", "xtcocotools": "1.14.3"}
BUILD_ENV = {
    "MMCV_WITH_OPS": "1",  # the compiled ops are the point
    "FORCE_CUDA": "0",
    "MAX_JOBS": str(os.cpu_count() or 2),
    # No debug info, no optimisation: about 3x faster to compile; the tests train a few
    # images on the CPU, where the ops' speed does not matter.
    "CFLAGS": "-g0 -O0",
    "CXXFLAGS": "-g0 -O0",
}
# numpy 2 removed NPY_OWNDATA; xtcocotools' mask functions still use it.
PATCHES = {"xtcocotools": [("xtcocotools/_mask.pyx", "np.NPY_OWNDATA", "np.NPY_ARRAY_OWNDATA")]}
RECIPE_VERSION = 1  # bump to rebuild after changing how the wheels are built


def cache_folder() -> Path:
    recipe = {
        "sources": SOURCES,
        "env": {k: v for k, v in BUILD_ENV.items() if k != "MAX_JOBS"},
        "patches": PATCHES,
        "python": sysconfig.get_platform() + "-" + sys.implementation.cache_tag,
        "torch": version("torch"),  # the ABI the ops are compiled against
        "version": RECIPE_VERSION,
    }
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    root = Path(os.environ.get("DOCS_WHEEL_CACHE", Path.home() / ".cache/mindgarage-docs/wheels"))
    return root / key


def run(*command: str, **kwargs) -> None:
    print("+", " ".join(command), flush=True, file=sys.stderr)
    # stdout is for the wheels' paths only (the caller reads them): the build says its
    # things on stderr.
    subprocess.run(command, check=True, stdout=sys.stderr, **kwargs)


def build(name: str, version: str, work: Path, out: Path) -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    # --no-build-isolation here too: pip prepares an sdist's metadata even to download it,
    # and in an isolated environment it would use the newest setuptools, whose missing
    # pkg_resources mmcv's setup.py imports (ModuleNotFoundError: No module named
    # 'pkg_resources', seen with setuptools 84).
    run(*pip, "download", "--quiet", "--no-deps", "--no-build-isolation", "--no-binary",
        ":all:", f"{name}=={version}", "-d", str(work))  # fmt: skip
    archive = next(work.glob(f"{name}-{version}.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    source = work / f"{name}-{version}"
    for path, old, new in PATCHES.get(name, []):
        file = source / path
        text = file.read_text()
        if old not in text:
            sys.exit(f"{name} {version}: {path} no longer contains {old!r}: update the patch")
        file.write_text(text.replace(old, new))
    run(*pip, "wheel", "--no-build-isolation", "--no-deps", "--wheel-dir", str(out),
        str(source), env={**os.environ, **BUILD_ENV})  # fmt: skip


def main() -> int:
    folder = cache_folder()
    wheels = sorted(folder.glob("*.whl"))
    if len(wheels) == len(SOURCES):
        print(f"cached, not rebuilt: {folder}", file=sys.stderr)
    else:
        folder.parent.mkdir(parents=True, exist_ok=True)
        # Built into a folder beside the cache's, then renamed into place: a rename on one
        # file system is atomic, so a killed build leaves no half-copied wheel behind to be
        # taken for a good one.
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
        try:
            with tempfile.TemporaryDirectory(prefix="mmpose-wheels-") as sources:
                for name, version in SOURCES.items():
                    build(name, version, Path(sources), staging)
            shutil.rmtree(folder, ignore_errors=True)
            staging.chmod(0o755)  # mkdtemp made it private; a cache is for every user
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # if the build failed
        wheels = sorted(folder.glob("*.whl"))
    for wheel in wheels:
        print(wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
