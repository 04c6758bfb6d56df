"""Getting started's "Before you start" check, on a server that asks its users to sign in.

The page says: ``/health`` answers everyone; ``/version`` answers 401 until you sign in
(``curl -u <username>``), then the version. The plain server's side is the page's own
hidden check; this is the lab's deployment's (deployment.py: nginx with TLS in front of the
admin page's start script), asked as curl asks it: without, then with a member's username
and password (HTTP basic auth), over https.
"""

import base64
import re
import urllib.error
import urllib.request
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "mlflow" / "getting-started.rst"


def get(url: str, credentials=None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if credentials is not None:
        token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode())
        request.add_header("Authorization", f"Basic {token.decode()}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode().strip()
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_the_page_shows_both_checks_and_the_signed_in_one():
    """The open server's two checks; the secured server's, /version signed in."""
    text = PAGE.read_text()
    assert "curl --max-time 5 http://mindgarage07.cs.uni-kl.de:8001/health" in text
    assert "curl --max-time 5 http://mindgarage07.cs.uni-kl.de:8001/version" in text
    assert "curl --max-time 5 https://mindgarage07.cs.uni-kl.de/health" in text
    assert "curl -u <your username> --max-time 5 https://mindgarage07.cs.uni-kl.de/version" in text
    assert "``/version`` answers only those signed in" in " ".join(text.split())


def test_health_answers_without_signing_in(deployment):
    assert get(f"{deployment.url}/health") == (200, "OK")


def test_version_asks_for_sign_in_then_answers(deployment):
    assert get(f"{deployment.url}/version")[0] == 401
    status, version = get(f"{deployment.url}/version", deployment.member)
    assert status == 200
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
