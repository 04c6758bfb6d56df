"""Check the built site as a reader meets it (``nox -s docs`` runs this after the build).

A clean Sphinx build proves little about the content: the lab's original page built
without a warning while its links rendered as literal brackets. This reads the HTML.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))

from conf import MLFLOW_VERSION  # noqa: E402

MLFLOW_API = "https://mlflow.org/docs/latest/api_reference/python_api/"


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])

    def handle_data(self, data):
        self.text.append(data)


def check(site: Path) -> list[str]:
    problems = []
    pages = [p for p in site.rglob("*.html") if p.name not in ("genindex.html", "search.html")]
    for path in pages:
        page = Page()
        page.feed(path.read_text())
        where = path.relative_to(site)
        text = "".join(page.text)
        if re.search(r"\]\(https?://", text):
            problems.append(f"{where}: a Markdown-style link rendered as text")
        if not any("copybutton" in src for src in page.scripts):
            problems.append(f"{where}: no copy buttons")
        links_api = any(link.startswith(MLFLOW_API) for link in page.links)
        if "mlflow" in str(where) and "mlflow." in text and not links_api:
            problems.append(f"{where}: mentions MLflow's API but links none of it")
    guide = (site / "guides" / "mlflow" / "index.html").read_text()
    if f"MLflow {MLFLOW_VERSION}" not in re.sub(r"<[^>]+>", "", guide):
        problems.append(
            f"guides/mlflow/index.html does not say it is tested with MLflow {MLFLOW_VERSION}"
        )
    logging_page = (site / "guides" / "mlflow" / "logging.html").read_text()
    if f'href="{MLFLOW_API}mlflow.html#mlflow.log_metric"' not in logging_page:
        problems.append("logging.html: mlflow.log_metric does not link to MLflow's reference")
    if '"log_metr' not in (site / "searchindex.js").read_text():  # the index holds stems
        problems.append("the search index does not know log_metric")
    return problems


def main() -> int:
    site = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "html"
    problems = check(site)
    for problem in problems:
        print(problem)
    print(f"built site {site}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
