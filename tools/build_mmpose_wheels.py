"""Build, once, the two wheels of the real MMPose stack that PyPI cannot give us here.

    python -m tools.build_mmpose_wheels        (nox -s mmpose runs it)

It prints the two wheels on stdout as pip requirement lines, ``<path> --hash=sha256:<hex>``,
and nothing else there: the build's own output goes to stderr. The hash is the one recorded
(in ``SHA256SUMS`` beside the wheels) when they were built; the session installs them with
``--require-hashes``, so a cached wheel that changed since fails the install.

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

What the hashes prove: the sources are the files ``requirements/mmpose-sources.txt`` hashed
(pip downloads them with ``--require-hashes``), and the wheels installed are the ones built
from them here. A build is not reproducible (another build gives other hashes), so the wheels'
hashes cannot be locked in advance; a cache that predates ``SHA256SUMS`` has it recorded at
its first use.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES_LOCK = ROOT / "requirements" / "mmpose-sources.txt"  # from mmpose-sources.in
# {"mmcv": "2.1.0", "xtcocotools": "1.14.3"}: the pins of the sources lock.
SOURCES = dict(re.findall(r"^([\w-]+)==(\S+)", SOURCES_LOCK.read_text(), re.MULTILINE))
SUMS = "SHA256SUMS"
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


def download_sources(work: Path) -> None:
    """The sources, as the lock hashed them (pip fails on any other file)."""
    # --no-build-isolation here too: pip prepares an sdist's metadata even to download it,
    # and in an isolated environment it would use the newest setuptools, whose missing
    # pkg_resources mmcv's setup.py imports (ModuleNotFoundError: No module named
    # 'pkg_resources', seen with setuptools 84).
    run(sys.executable, "-m", "pip", "--disable-pip-version-check", "download", "--quiet",
        "--no-deps", "--no-build-isolation", "--no-binary", ":all:", "--require-hashes",
        "-r", str(SOURCES_LOCK), "-d", str(work))  # fmt: skip


def build(name: str, version: str, work: Path, out: Path) -> None:
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
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "wheel", "--no-build-isolation", "--no-deps", "--wheel-dir", str(out),
        str(source), env={**os.environ, **BUILD_ENV})  # fmt: skip


def sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def recorded_hashes(folder: Path, wheels: list[Path]) -> dict[str, str]:
    """{wheel name: sha256} as recorded at build time (recorded now if it never was)."""
    sums = folder / SUMS
    if not sums.is_file():
        sums.write_text("".join(f"{sha256(w)}  {w.name}\n" for w in wheels))
    return {
        name: digest for digest, name in (line.split() for line in sums.read_text().splitlines())
    }


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
                download_sources(Path(sources))
                for name, version in SOURCES.items():
                    build(name, version, Path(sources), staging)
            recorded_hashes(staging, sorted(staging.glob("*.whl")))
            shutil.rmtree(folder, ignore_errors=True)
            staging.chmod(0o755)  # mkdtemp made it private; a cache is for every user
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # if the build failed
        wheels = sorted(folder.glob("*.whl"))
    recorded = recorded_hashes(folder, wheels)
    for wheel in wheels:
        if wheel.name not in recorded:
            sys.exit(f"{wheel} is not in {folder / SUMS}: remove {folder} to rebuild")
        print(f"{wheel} --hash=sha256:{recorded[wheel.name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
