"""Pages from a member's machine: each page's examples, in the order the page shows them, run
as one script by a Python that holds only what the pages tell members to install
(tools/member_env.py), against the lab's deployment at its https address: the signing-in
page; the quick start's script and the logging page's examples, as they read once the lab's
server is secured (``lab.after_the_move``), signed in as the signing-in page shows.

The member's machine trusts the lab's certificate authority as members' machines trust the
real one: here, the throwaway CA of the run, named in ``MLFLOW_TRACKING_SERVER_CERT_PATH``
(and ``REQUESTS_CA_BUNDLE`` for the signing-in page's ``requests`` call). The only other
stand-in is name resolution: a ``sitecustomize`` sends the lab's host, port 443, to nginx's
loopback port, and refuses every other name.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from labdocs.lab import (
    LAB_HTTPS_HOST,
    LAB_HTTPS_TRACKING_URI,
    MLFLOW_VERSION,
    ROOT,
    after_the_move,
)
from labdocs.pages import DOCS, EXAMPLES, shown_python
from labdocs.plugin.members import colleague
from labdocs.services.auth import Credentials, new_password, signed_in
from labdocs.services.deployment import Deployment, registry_environment
from labdocs.services.progress import run_while_progressing
from labdocs.services.session import NO_TELEMETRY

# A member's script imports torch and logs models (MLflow infers their requirements in a
# process of its own): 20 s on an idle machine, minutes beside other work. It is waited for
# while it, or a process it started, uses CPU time or writes; it has hung once it did
# neither for this long (waiting on a deployment that does not answer, say).
MEMBER_IDLE_S = 60.0
# The tests that run one: their bound is a hang of the test's own calls, not the script's.
RUNS_A_MEMBER_SCRIPT = pytest.mark.timeout(900)
PAGE = DOCS / "guides" / "mlflow" / "signing-in.md"
QUICK_START = DOCS / "guides" / "mlflow" / "quick-start.rst"
LOGGING = DOCS / "guides" / "mlflow" / "logging.rst"
NOTEBOOKS = DOCS / "guides" / "mlflow" / "notebooks.md"
# What every venv starts with (ensurepip, Python 3.11), not what a member installs.
BOOTSTRAP = {"pip", "setuptools"}
SHIM = """\
import socket

_real_getaddrinfo = socket.getaddrinfo


def _lab_on_loopback(host, port, *args, **kwargs):
    if host == {host!r} and str(port) in ("443", "https"):
        return _real_getaddrinfo("127.0.0.1", {port}, *args, **kwargs)
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise OSError(f"the member's test machine resolves only the lab's host, not {{host}}")
    return _real_getaddrinfo(host, port, *args, **kwargs)


socket.getaddrinfo = _lab_on_loopback
"""


def member_python(name: str) -> Path:
    """The member environment ``name``: built by `nox -s doctest` before the tests, else
    here, by pip trusting the registry's certificates, not the deployment's CA."""
    built = subprocess.run(
        [sys.executable, "-m", "tools.member_env", name],
        cwd=ROOT, env=registry_environment(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if built.returncode != 0:
        pytest.fail(f"no member environment {name}: {built.stderr[-3000:]}", pytrace=False)
    return Path(built.stdout.strip().splitlines()[-1])


def run_as_member(
    name: str,
    script: str,
    deployment: Deployment,
    member: Credentials,
    folder: Path,
    credentials_in: str = "environment",
    **kwargs,
) -> subprocess.CompletedProcess:
    """``script`` run by the member environment ``name`` in ``folder``, signed in as
    ``member`` as the signing-in page shows: by the variables it exports (``credentials_in``
    "environment"), or by the credentials file it writes ("file"); it must end well."""
    shim = folder / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        SHIM.format(host=LAB_HTTPS_HOST, port=deployment.https_port)
    )
    (folder / "member.py").write_text(script)
    home = folder / "home"
    home.mkdir()
    signing_in = {
        "MLFLOW_TRACKING_USERNAME": member.username,
        "MLFLOW_TRACKING_PASSWORD": member.password,
    }
    if credentials_in == "file":
        (home / ".mlflow").mkdir()
        (home / ".mlflow" / "credentials").write_text(credentials_file(member))
        (home / ".mlflow" / "credentials").chmod(0o600)
        signing_in = {}
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TMPDIR": str(folder),
        "PYTHONPATH": str(shim),
        **signing_in,
        "MLFLOW_TRACKING_SERVER_CERT_PATH": str(deployment.ca),
        "REQUESTS_CA_BUNDLE": str(deployment.ca),
        **NO_TELEMETRY,
    }
    done = run_while_progressing(
        [str(member_python(name)), "member.py"], idle_s=MEMBER_IDLE_S, cwd=folder, env=env,
        **kwargs,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def credentials_file(member: Credentials) -> str:
    """``~/.mlflow/credentials`` as the signing-in page writes it, with the member's own."""
    (shown,) = re.findall(r"```ini\n(.*?)```", PAGE.read_text(), re.DOTALL)
    assert "<your password>" in shown
    return shown.replace("<your username>", member.username).replace(
        "<your password>", member.password
    )


@pytest.mark.parametrize(
    ("name", "page", "shown", "has", "lacks"),
    [
        ("signing-in", PAGE, 'pip install "mlflow[auth]==|mlflow_version|"', "flask-wtf", "torch"),
        ("quick-start", QUICK_START, "pip install mlflow torch", "torch", "flask-wtf"),
    ],
)
def test_the_member_environment_holds_only_what_the_page_says(name, page, shown, has, lacks):
    """The environment is the lock of the page's install line, and nothing else."""
    assert shown in page.read_text()
    installed = subprocess.run(
        [str(member_python(name)), "-m", "pip", "freeze", "--all", "--exclude", "pip"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    lock = (ROOT / "requirements" / f"member-{name}.txt").read_text()
    assert re.search(rf"^mlflow=={re.escape(MLFLOW_VERSION)} ", lock, re.MULTILINE)
    assert names(installed) - BOOTSTRAP == names(lock) - BOOTSTRAP
    assert has in names(installed)
    assert not {"pytest", "sybil", lacks} & names(installed)


def names(requirements: str) -> set[str]:
    """The distributions pinned (name==version) in a freeze or a lock, normalized."""
    found = re.findall(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==", requirements, re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower() for name in found}


@RUNS_A_MEMBER_SCRIPT
@pytest.mark.parametrize("credentials_in", ["environment", "file"])
def test_the_signing_in_page_s_examples_run_from_a_member_s_machine(
    deployment: Deployment, tmp_path: Path, credentials_in: str
):
    """Signed in either way the page shows: its variables, or its credentials file alone."""
    member = deployment.create_user(f"member-client-{credentials_in}")
    colleague(deployment, "asmith")  # the page shares an experiment with them
    new = new_password()
    done = run_as_member(
        "signing-in", shown_python(PAGE), deployment, member, tmp_path, credentials_in,
        input=f"{member.password}\n{new}\n",  # getpass reads stdin without a terminal
    )  # fmt: skip
    assert f"'username': '{member.username}'" in done.stdout  # the users/current answer
    assert "Permission denied" in done.stdout  # the Default experiment refuses a run
    # The server holds what the page logged, and the new password is the member's now.
    with signed_in(Credentials(member.username, new)):
        client = MlflowClient(LAB_HTTPS_TRACKING_URI)
        experiment = client.get_experiment_by_name(f"mlflow-guide-signing-in/{member.username}")
        (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"accuracy": 0.9}


@RUNS_A_MEMBER_SCRIPT
def test_the_notebook_page_s_cells_run_without_the_credentials_cell(
    deployment: Deployment, tmp_path: Path
):
    """The cells as a reader signed in by the credentials file runs them, in one kernel
    (a Python process of its own): all but the cell that asks for a username and password,
    which the page lets them skip, as a reader of a server without sign-in does."""
    member = deployment.create_user("notebook-reader")
    cells = after_the_move(shown_python(NOTEBOOKS, skipping='input("MLflow username: ")'))
    done = run_as_member("signing-in", cells, deployment, member, tmp_path, "file")
    assert "is already active" in done.stdout
    with signed_in(member):
        client = MlflowClient(LAB_HTTPS_TRACKING_URI)
        experiment = client.get_experiment_by_name(f"mlflow-guide-notebooks/{member.username}")
        runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time"])
    assert [r.info.run_name for r in runs] == ["notebook", "first"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert runs[0].data.metrics == {"val_acc": 0.81}


@RUNS_A_MEMBER_SCRIPT
def test_the_quick_start_runs_from_a_member_s_machine(deployment: Deployment, tmp_path: Path):
    """quickstart.py as the page shows it, its address the lab's https one."""
    member = deployment.create_user("quick-starter")
    script = after_the_move((EXAMPLES / "quickstart.py").read_text())
    done = run_as_member("quick-start", script, deployment, member, tmp_path)
    assert f"View run quickstart at: {LAB_HTTPS_TRACKING_URI}/#/experiments/" in done.stdout
    with signed_in(member):
        client = MlflowClient(LAB_HTTPS_TRACKING_URI)
        experiment = client.get_experiment_by_name(f"mlflow-guide-quickstart/{member.username}")
        (run,) = client.search_runs([experiment.experiment_id])
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")]
        artifacts = [a.path for a in client.list_artifacts(run.info.run_id)]
        (model,) = client.search_logged_models([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "quickstart"
    assert run.data.params["learning_rate"] == "0.05"
    assert steps == [0, 1, 2, 3, 4]
    assert artifacts == ["losses.csv"]
    assert model.name == "model" and model.source_run_id == run.info.run_id


@RUNS_A_MEMBER_SCRIPT
def test_the_logging_page_s_examples_run_from_a_member_s_machine(
    deployment: Deployment, tmp_path: Path
):
    """Every block and file the page shows, in its order, as one script, after the move."""
    member = deployment.create_user("logger")
    run_as_member(
        "quick-start", after_the_move(shown_python(LOGGING)), deployment, member, tmp_path
    )
    with signed_in(member):
        client = MlflowClient(LAB_HTTPS_TRACKING_URI)
        experiment = client.get_experiment_by_name(f"mlflow-guide-logging/{member.username}")
        runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time"])
    assert [r.info.run_name for r in runs] == [
        "metrics", "config", "artifacts", "pytorch-model",
    ]  # fmt: skip
    assert {r.info.status for r in runs} == {"FINISHED"}


def test_without_the_auth_extra_the_page_s_error():
    """Plain `pip install mlflow` lacks Flask-WTF: the sign-in client fails as the page
    says, with an ImportError about Flask-WTF (Flask-WTF hidden from the member's Python,
    as if never installed)."""
    code = (
        "import sys; sys.modules['flask_wtf'] = None\n"
        "from mlflow.server import get_app_client\n"
        f"get_app_client('basic-auth', tracking_uri={LAB_HTTPS_TRACKING_URI!r})\n"
    )
    done = run_while_progressing(
        [str(member_python("signing-in")), "-c", code], idle_s=MEMBER_IDLE_S,
        env={"PATH": os.environ["PATH"], **NO_TELEMETRY},
    )  # fmt: skip
    assert done.returncode == 1
    error = done.stderr.strip().splitlines()[-1]
    said = "(without it: an `ImportError` about Flask-WTF)"
    assert said in " ".join(PAGE.read_text().split()), "the signing-in page names no ImportError"
    assert error.startswith("ImportError: ") and "Flask-WTF" in error, error
