"""Write ``mlflow.inv``: a Sphinx inventory of MLflow's public Python API.

Why: the pages link MLflow names (``:py:func:`mlflow.log_metric```) to MLflow's own
API reference through intersphinx, and the build is strict (nitpicky, warnings are
errors). Intersphinx normally downloads ``objects.inv``; the lab machines and CI have
no network, so we keep an inventory in the repository, made from the pinned MLflow
itself. A name that MLflow does not have cannot be linked: the docs build fails.

Run it after changing the MLflow pin: ``nox -s mlflow-inventory``
(``python -m tools.make_mlflow_inventory docs/_inventories/mlflow.inv``).
"""

import inspect
import sys
import zlib
from importlib import import_module, metadata
from pathlib import Path

# MLflow's reference has one HTML page per module; objects are anchored by their
# full dotted name, e.g. python_api/mlflow.html#mlflow.log_metric.
DOCUMENTED_MODULES = [
    "mlflow",
    "mlflow.artifacts",
    "mlflow.client",
    "mlflow.entities",
    "mlflow.exceptions",
    "mlflow.models",
    "mlflow.pytorch",
]
# The top-level page documents the fluent functions and only these classes; the rest
# of what ``mlflow`` re-exports (MlflowClient, ...) has a page of its own.
TOP_LEVEL_CLASSES = ["ActiveRun"]
# Classes a module page documents under the full path of the module that defines them.
DOCUMENTED_BY_FULL_PATH = {"mlflow.models": ["mlflow.models.model.ModelInfo"]}


def public_names(module):
    names = getattr(module, "__all__", None) or dir(module)
    return sorted(name for name in names if not name.startswith("_"))


def class_entries(full, page):
    module_name, name = full.rsplit(".", 1)
    cls = getattr(import_module(module_name), name)
    yield full, "py:class", f"{page}#{full}"
    for attr, member in sorted(vars(cls).items()):
        if attr.startswith("_"):
            continue
        if isinstance(member, property):
            yield f"{full}.{attr}", "py:property", f"{page}#{full}.{attr}"
        elif callable(member) or isinstance(member, (staticmethod, classmethod)):
            yield f"{full}.{attr}", "py:method", f"{page}#{full}.{attr}"


def entries():
    for module_name in DOCUMENTED_MODULES:
        module = import_module(module_name)
        page = f"python_api/{module_name}.html"
        yield module_name, "py:module", f"{page}#module-{module_name}"
        for full in DOCUMENTED_BY_FULL_PATH.get(module_name, []):
            yield from class_entries(full, page)
        for name in public_names(module):
            obj = getattr(module, name, None)
            full = f"{module_name}.{name}"
            if module_name == "mlflow" and inspect.isclass(obj) and name not in TOP_LEVEL_CLASSES:
                continue
            if inspect.isclass(obj):
                yield from class_entries(full, page)
            elif inspect.isfunction(obj):
                yield full, "py:function", f"{page}#{full}"


def main(out: Path) -> None:
    version = metadata.version("mlflow")
    lines = sorted({f"{name} {role} 1 {uri} -" for name, role, uri in entries()})
    header = (
        "# Sphinx inventory version 2\n"
        "# Project: MLflow\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = zlib.compress(("\n".join(lines) + "\n").encode())
    out.write_bytes(header.encode() + body)
    print(f"wrote {len(lines)} MLflow {version} objects to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
