"""No credential is written into the repository.

Pages and examples show placeholders ('<your password>'), scripts read secrets from their
environment ("${MLFLOW_FLASK_SERVER_SECRET_KEY}"), and the tests generate their own at run
time (labdocs/services/auth.py). This scans every file Git would commit (tracked, or new and
not ignored) for a password, secret key or token set to a literal value, and names the
file and line of each.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Names whose value is a secret: MLflow's variables and the keys of its config files
# (MLFLOW_TRACKING_PASSWORD, mlflow_tracking_password, MLFLOW_AUTH_ADMIN_PASSWORD,
# admin_password, MLFLOW_FLASK_SERVER_SECRET_KEY, MLFLOW_TRACKING_TOKEN), and any other
# name ending in PASSWORD or SECRET_KEY.
SECRET_NAME = r"[A-Za-z_]*(?:PASSWORD|SECRET_KEY|TRACKING_TOKEN)"
ASSIGNMENT = re.compile(
    # The whole name, and not a shell reference: ${NAME}, ${NAME:?message}, $NAME.
    r"(?<![\w$])(?<!\$\{)(?P<name>" + SECRET_NAME + r")(?!\w)"
    # Shell or ini (NAME=value, name = value) or Python / YAML / JSON, with the name
    # quoted ("NAME": value, ["NAME"] = value, setenv("NAME", value)).
    r"(?P<quoted>[\"']\]?)?\s*(?P<operator>=|:|,)\s*(?P<value>.*)",
    re.IGNORECASE,
)
PLACEHOLDER = re.compile(r"<[^<>]+>")
STRING = re.compile(r"""(?P<prefix>[rbfRBF]*)(?P<quote>["'])(?P<text>.*?)(?P=quote)""")
PYTHON_NAME_OR_CALL = re.compile(r"[A-Za-z_][\w.]*(\(.*\))?,?")


def literal_value(line: str) -> str | None:
    """The literal secret this line assigns, if it assigns one."""
    for match in ASSIGNMENT.finditer(line):
        if match["operator"] == "," and not match["quoted"]:
            continue  # a list of names (an import), not an assignment
        if match["quoted"] and line[match.start() - 1 : match.start()] not in ("'", '"'):
            continue  # the end of a string ("a wrong password", ...), not a quoted name
        value = match["value"].strip()
        operator = match.start("operator")
        if line[operator - 1 : operator + 2] == " :'":
            continue  # psql's variable, PASSWORD :'name' (examples/deploy/postgres-setup.sql)
        if not value or value.startswith(("$", "<", "#")):
            continue  # empty, a shell variable, a placeholder, a comment
        if line.lstrip().startswith("LoadCredential="):
            continue  # systemd's name:file of a credential: where the secret is, not it
        string = STRING.match(value)
        if string:
            text = string["text"]
            if (
                not text
                or PLACEHOLDER.fullmatch(text)
                or text.startswith("$")  # "${VARIABLE}" in a shell script
                or ("f" in string["prefix"].lower() and "{" in text)  # built from variables
            ):
                continue
            return text
        if match["quoted"]:
            continue  # Python: "NAME": expression
        word = re.split(r"\s+#", value, maxsplit=1)[0].strip()  # without a trailing comment
        yaml = match["operator"] == ":" and match["name"].isupper()  # NAME: value
        if re.fullmatch(r"[^\s\"'`]+", word) and (
            yaml or _is_shell_or_ini(line) or not PYTHON_NAME_OR_CALL.fullmatch(word)
        ):
            return word  # NAME=value in a shell, name = value in ini, NAME: value in YAML
    return None


def _is_shell_or_ini(line: str) -> bool:
    """``export NAME=value``, ``NAME=value`` (no spaces: not Python), ``name = value`` (ini)."""
    stripped = line.strip()
    return bool(
        re.match(r"(export\s+)?[A-Za-z_]\w*=[^\s=]", stripped)
        or re.fullmatch(r"[a-z_]+\s*=\s*[^\s()]+", stripped)
    )


def committed_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def test_no_file_assigns_a_credential():
    found = []
    for path in committed_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue  # binary (an inventory, an image)
        for number, line in enumerate(text.splitlines(), 1):
            if literal_value(line) is not None:
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, (
        "credentials written into the repository (use a placeholder like '<your password>', "
        "or read it from the environment):\n" + "\n".join(found)
    )


# What the scan catches and what it lets through. The names are split so that this file
# does not hold the very assignments it looks for.
P = "PASS" + "WORD"
K = "K" + "EY"
SECRET = "hunter2hunter2"


@pytest.mark.parametrize(
    "line",
    [
        f"export MLFLOW_TRACKING_{P}={SECRET}",
        f"export MLFLOW_TRACKING_{P}='{SECRET}'",
        f"MLFLOW_AUTH_ADMIN_{P}={SECRET}",
        f"mlflow_tracking_{P.lower()} = {SECRET}",
        f"admin_{P.lower()} = {SECRET}",
        f'os.environ["MLFLOW_TRACKING_{P}"] = "{SECRET}"',
        f'monkeypatch.setenv("MLFLOW_FLASK_SERVER_SECRET_{K}", "{SECRET}")',
        f'env = {{"MLFLOW_AUTH_ADMIN_{P}": "{SECRET}"}}',
        f"  MLFLOW_TRACKING_{P}: {SECRET}",
        f'admin_{P.lower()} = "{SECRET}"',
    ],
)
def test_a_literal_credential_is_found(line):
    assert literal_value(line) == SECRET


@pytest.mark.parametrize(
    "line",
    [
        f"LoadCredential=admin-{P.lower()}:/etc/mlflow/admin-{P.lower()}",
        f"export MLFLOW_TRACKING_{P}='<your password>'",
        f"MLFLOW_AUTH_ADMIN_{P}='<admin password>'",
        f"mlflow_tracking_{P.lower()} = <your password>",
        f'export MLFLOW_TRACKING_{P}="${{MY_{P}}}"',
        f'  : "${{MLFLOW_FLASK_SERVER_SECRET_{K}:?is not set: see the admin guide}}"',
        f'"MLFLOW_AUTH_ADMIN_{P}": admin.password,',
        f'"MLFLOW_FLASK_SERVER_SECRET_{K}": secrets.token_hex(32),',
        f'@pytest.mark.parametrize("who", ["nobody", "wrong {P.lower()}", "unknown user"])',
        f"new_{P.lower()} = secrets.token_urlsafe(18)",
        f"{P.lower()} = new_{P.lower()}()",
        f"    MLFLOW_TRACKING_{P},",
        f"# admin_{P.lower()} =",
        f'os.environ["MLFLOW_TRACKING_{P}"] = {P.lower()}',
        f'print(f"{{MLFLOW_AUTH_ADMIN_{P}.name}} is not set")',
        f'auth=(os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_{P}"]),',
    ],
)
def test_placeholders_and_variables_are_not_credentials(line):
    assert literal_value(line) is None
