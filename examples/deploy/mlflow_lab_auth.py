"""The lab's sign-in check for MLflow's basic-auth app: basic_auth.ini names it
(authorization_function = mlflow_lab_auth:authenticate); it lives in the server's Python
environment, beside MLflow.

It calls MLflow's own check (a username and a password), and adds three things MLflow lacks:

- A limit on wrong passwords. After LIMIT wrong passwords for one username from one address
  within WINDOW seconds, that username is refused from that address, with its password left
  unchecked, until the oldest of those failures is WINDOW seconds old. Left unchecked, a right
  guess is refused like a wrong one: guessing learns nothing, and costs the server no password
  hashing (about 150 ms of CPU each), so the members' requests stay fast meanwhile.
- Unknown usernames take as long as known ones: the same hashing on a made-up hash, so the
  time of an answer does not tell which usernames exist.
- New experiments keep their artifacts where the server puts them: a request to create one
  with an ``artifact_location`` of its own (a folder of the server, say /etc/mlflow, whose
  files anyone allowed to read the experiment could then download) is refused.

Each server process counts on its own: with two workers, an attacker gets up to twice LIMIT
checked guesses per WINDOW, and, once, those sent at the same moment as the first.
"""

import collections
import json
import threading
import time

from flask import Response, request
from mlflow.server import auth
from werkzeug.security import check_password_hash, generate_password_hash

LIMIT = 10  # wrong passwords for one username from one address ...
WINDOW = 300.0  # ... within these seconds; then refused, unchecked, until they are older
_MOST_KEYS = 100_000  # (address, username) pairs remembered; older ones are forgotten first

_failures: dict[tuple[str, str], collections.deque] = {}  # when passwords failed
_pending: dict[tuple[str, str], int] = {}  # attempts being checked now
_lock = threading.Lock()
_made_up_hash: list[str] = []


def authenticate():
    """MLflow's basic-auth check, limited, even in time, and guarding where artifacts go."""
    credentials = request.authorization
    if credentials is None or not credentials.username:
        return auth.authenticate_request_basic_auth()  # asks for a username and password
    key = (_client_address(), credentials.username)
    wait = _begin_attempt(key)
    if wait:
        return _refusal(
            403,
            "PERMISSION_DENIED",
            f"Too many wrong passwords for {credentials.username} from this address: "
            f"refused without checking for {wait} more seconds.",
        )
    failed = True
    try:
        answer = auth.authenticate_request_basic_auth()
        failed = isinstance(answer, Response)  # a wrong password, or an unknown username
        if failed:
            _hash_as_for_a_known_user(credentials.username, credentials.password or "")
    finally:
        _end_attempt(key, failed)
    return answer if failed else (_artifact_location_refused() or answer)


def _client_address() -> str:
    """The member's address: nginx appends it to X-Forwarded-For, last (MLflow listens on
    127.0.0.1 only, so the header is nginx's)."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    return forwarded.rsplit(",", 1)[-1].strip() or (request.remote_addr or "")


def _begin_attempt(key: tuple[str, str]) -> int:
    """0 if this attempt's password may be checked, else the seconds it stays refused. Once a
    password has failed, the attempts being checked count as failures too: guesses sent all
    at once must not slip past the limit together."""
    now = time.monotonic()
    with _lock:
        failures = _failures.get(key, ())
        while failures and failures[0] <= now - WINDOW:
            failures.popleft()
        pending = _pending.get(key, 0)
        if len(failures) >= LIMIT or (failures and len(failures) + pending >= LIMIT):
            return int(failures[0] + WINDOW - now) + 1
        _pending[key] = pending + 1
        return 0


def _end_attempt(key: tuple[str, str], failed: bool) -> None:
    with _lock:
        _pending[key] -= 1
        if not _pending[key]:
            del _pending[key]
        if not failed:
            _failures.pop(key, None)  # signed in: earlier wrong passwords are forgiven
            return
        if key not in _failures and len(_failures) >= _MOST_KEYS:
            del _failures[next(iter(_failures))]  # the oldest pair
        _failures.setdefault(key, collections.deque(maxlen=LIMIT)).append(time.monotonic())


def _hash_as_for_a_known_user(username: str, password: str) -> None:
    try:
        known = auth.store.has_user(username)
    except Exception:  # the database is away: MLflow's own answer stands
        return
    if not known:
        if not _made_up_hash:
            _made_up_hash.append(generate_password_hash("a password nobody has"))
        check_password_hash(_made_up_hash[0], password)


def _artifact_location_refused() -> Response | None:
    """A request to create an experiment that names its own artifact location: refused."""
    path = request.path.rstrip("/")
    if request.method != "POST" or not path.endswith("/mlflow/experiments/create"):
        return None
    body = request.get_json(force=True, silent=True)
    named = isinstance(body, dict) and any(
        body.get(field) for field in ("artifact_location", "artifactLocation")
    )
    if not named and isinstance(body, dict):
        return None
    # Named, or a body MLflow reads otherwise than as a JSON object: refused.
    return _refusal(
        400,
        "INVALID_PARAMETER_VALUE",
        "This server keeps every experiment's artifacts in its own folder: create the "
        "experiment without an artifact_location.",
    )


def _refusal(status: int, code: str, message: str) -> Response:
    """An answer MLflow's client shows as it shows MLflow's own errors."""
    body = json.dumps({"error_code": code, "message": message})
    return Response(body, status=status, mimetype="application/json")
