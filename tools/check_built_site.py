"""Check the built site as a reader meets it (``nox -s docs`` runs this after the build).

    python -m tools.check_built_site build/html

A clean Sphinx build proves little about the content: the lab's original page built
without a warning while its links rendered as literal brackets. This reads the HTML.
"""

from __future__ import annotations

import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from labdocs.lab import (
    LAB_HTTPS_TRACKING_URI,
    LAB_TRACKING_URI,
    MLFLOW_VERSION,
    SERVER,
    ServerState,
)
from tools.problems import report

ROOT = Path(__file__).resolve().parents[1]

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


# -- repository links, no empty index page, wrapped messages -----------------------------


def check_reader_pass(site: Path, environ=None) -> list[str]:
    """What every built page promises a reader.

    - "Edit this page" and "Report a problem" link to the repository when the build knows
      it (GitHub Actions' variables, read by labdocs.site.published) and are absent otherwise:
      absent, not broken, in a local build.
    - No empty general index page, and no link to it.
    - Every page loads the stylesheet that wraps long messages (docs/_static).
    """
    from labdocs.site.published import published_from

    published = published_from(os.environ if environ is None else environ)
    problems = []
    if (site / "genindex.html").exists():
        problems.append("genindex.html exists: the site has no index entries, so it is empty")
    for path in sorted(site.rglob("*.html")):
        where = path.relative_to(site)
        html = path.read_text()
        if 'href="genindex.html"' in html or "/genindex.html" in html:
            problems.append(f"{where}: links to the general index")
        if path.name == "search.html":
            continue
        if "_static/code-blocks.css" not in html:
            problems.append(f"{where}: does not load code-blocks.css")
        page = Page()
        page.feed(html)
        source = _source_of(where)
        repository = published.get("repository_url")
        edit = f"{repository}/edit/{published.get('branch')}/docs/{source}"
        if "branch" in published and f'href="{edit}"' not in html:
            problems.append(f"{where}: no edit link to {edit}")
        if "branch" not in published and ">Edit this page<" in html:
            problems.append(f"{where}: an edit link, but the build knows no branch")
        reports = [link for link in page.links if "/issues/new" in link]
        if repository and not any(link.startswith(f"{repository}/issues/new?") for link in reports):
            problems.append(f"{where}: no 'Report a problem' link to {repository}/issues/new")
        if not repository and (">Report a problem</a>" in html or reports):
            problems.append(
                f"{where}: a 'Report a problem' link, but the build knows no repository"
            )
    return problems


# -- pictures: opened full size, sized, lazy, light --------------------------------------

PAGE_BUDGET = 400 * 1024  # bytes a page weighs with everything it loads, pictures included
IMG = re.compile(r"<img\b[^>]*>")
LOADED = re.compile(r'(?:src|href)="(?P<url>[^"#?]+)(?:\?[^"]*)?"')


def page_weight(site: Path, page: Path) -> int:
    """The page's bytes and those of every file of the site it loads (not the ones it links)."""
    html = page.read_text()
    loaded = {page.resolve()}
    for tag in re.findall(r"<(?:img|script|link)\b[^>]*>", html):
        if tag.startswith("<link") and 'rel="stylesheet"' not in tag:
            continue
        for found in LOADED.finditer(tag):
            file = (page.parent / found["url"]).resolve()
            if file.is_file() and site.resolve() in file.parents:
                loaded.add(file)
    return sum(file.stat().st_size for file in loaded)


def check_pictures(site: Path) -> list[str]:
    """Every picture opens full size on click, is sized and lazy; every page within budget."""
    problems = []
    for path in sorted(site.rglob("*.html")):
        where = path.relative_to(site)
        html = path.read_text()
        for tag in IMG.findall(html):
            if "_images/" not in tag:
                continue
            src = re.search(r'src="([^"]+)"', tag)[1]
            missing = [a for a in ("width=", "height=", 'loading="lazy"') if a not in tag]
            if missing:
                problems.append(f"{where}: {src} has no {', '.join(missing)}")
            if f'href="{src}"><img' not in html.replace(tag, "<img"):
                problems.append(f"{where}: {src} does not open full size on click")
        weight = page_weight(site, path)
        if weight > PAGE_BUDGET:
            problems.append(
                f"{where}: weighs {weight // 1024} KB with what it loads (budget "
                f"{PAGE_BUDGET // 1024} KB)"
            )
    return problems


# -- one reading order: the sidebar and the Next links agree ---------------------------

NEXT_LINK = re.compile(r'<a class="next-page" href="(?P<href>[^"]+)"')
SIDEBAR = re.compile(r'<div class="sidebar-tree">(?P<tree>.*?)</div>', re.DOTALL)
HREF = re.compile(r'<a class="reference internal" href="(?P<href>[^"#]+)')


def _page(base: Path, href: str, site: Path) -> str:
    return str((base.parent / href).resolve().relative_to(site.resolve()))


def reading_orders(site: Path) -> dict[str, list[str]]:
    """The pages in the order the sidebar and the Next links lead through them."""
    index = site / "index.html"
    html = index.read_text()
    sidebar = [_page(index, h, site) for h in HREF.findall(SIDEBAR.search(html)["tree"])]
    following, page = ["index.html"], index
    while (found := NEXT_LINK.search(page.read_text())) and len(following) <= len(sidebar):
        page = site / _page(page, found["href"], site)
        following.append(str(page.relative_to(site)))
    return {"sidebar": ["index.html", *sidebar], "next links": following}


def check_reading_order(site: Path) -> list[str]:
    orders = reading_orders(site)
    if orders["next links"] != orders["sidebar"]:
        return [f"the Next links lead {orders['next links']}, the sidebar {orders['sidebar']}"]
    return []


# -- reading paths: every page reached from the landing page, every page says where next --

ARTICLE = re.compile(r"<article\b[^>]*>(?P<body>.*?)</article>", re.DOTALL)
WHERE_NEXT = re.compile(r'<section id="where-next">(?P<body>.*?)</section>', re.DOTALL)


TOCTREE = re.compile(r'<div class="toctree-wrapper.*?</div>', re.DOTALL)


def article(html: str) -> str:
    """A built page's own text: its article, without its sidebar or its page listings."""
    found = ARTICLE.search(html)
    return TOCTREE.sub(" ", found["body"] if found else "")


def _article_links(site: Path, page: Path, html: str) -> set[str]:
    """The site's pages that a page's own text links to (not its sidebar or its toctrees)."""
    body = article(html)
    return {
        _page(page, href, site)
        for href in HREF.findall(body)
        if href.endswith(".html") and (page.parent / href).resolve().is_file()
    }


def check_reading_paths(site: Path) -> list[str]:
    """A reader who follows links from the landing page reaches every page, and every page
    ends with where to go next (labdocs/site/reading_paths.py writes both)."""
    pages = {
        str(path.relative_to(site))
        for path in site.rglob("*.html")
        if path.name not in ("search.html", "genindex.html") and "_static" not in path.parts
    }
    reached, queue = {"index.html"}, ["index.html"]
    problems = []
    while queue:
        name = queue.pop()
        html = (site / name).read_text()
        if name != "index.html":
            where_next = WHERE_NEXT.search(html)
            if where_next is None or not HREF.search(where_next["body"]):
                problems.append(f"{name}: does not end with where to go next")
        for linked in _article_links(site, site / name, html) - reached:
            reached.add(linked)
            queue.append(linked)
    problems += [
        f"{name}: no link from the landing page's paths reaches it"
        for name in sorted(pages - reached)
    ]
    return problems


# -- one server state: one address, no other state's instructions -------------------------

# Where a site built for the open server may name the secured one: the page that tells members
# what changes when the admins move it, and the admins' pages, which set it up.
SAYS_WHAT_CHANGES = ("guides/mlflow/signing-in.html", "admin/")
# Sentences that fork between the states: each state's pages say what holds now, alone.
FORKS = re.compile(
    r"once (?:sign-in is on|the (?:lab's )?server (?:asks|is secured))|if the server asks"
    r"|until sign-in|before sign-in|with sign-in,",
    re.IGNORECASE,
)
# What only the open server's readers are told.
OPEN_ONLY = re.compile(r"reachable by anyone|anyone can see|asks no one to sign in", re.I)
# Notes for a server of MLflow 2 belong to the compatibility page.
MLFLOW_2 = re.compile(r"MLflow 2\b")
MLFLOW_2_PAGES = ("guides/mlflow/compatibility.html", "admin/")


def page_text(html: str) -> str:
    """What a reader reads on a page, code included: no tags, no scripts or styles."""
    page = Page()
    page.feed(re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.DOTALL))
    return "".join(page.text)


def check_server_state(site: Path, state: ServerState = SERVER) -> list[str]:
    """Every page as the lab's server is in ``state`` (labdocs/lab.py): its address alone,
    and none of the other state's instructions."""
    other = LAB_TRACKING_URI if state.sign_in else LAB_HTTPS_TRACKING_URI
    problems = []
    for path in sorted(site.rglob("*.html")):
        where = str(path.relative_to(site))
        if where in ("search.html", "contributing.html"):  # contributing: for the site's writers
            continue
        text = page_text(path.read_text())
        if other in text and (state.sign_in or not where.startswith(SAYS_WHAT_CHANGES)):
            problems.append(f"{where}: shows {other}, the address of the other state")
        if not where.startswith("admin/"):
            forks = sorted({m.group().lower() for m in FORKS.finditer(text)})
            if forks:
                problems.append(f"{where}: forks between the server's states: {forks}")
        if state.sign_in and OPEN_ONLY.search(text):
            problems.append(f"{where}: says the server is open: {OPEN_ONLY.search(text)[0]!r}")
        if MLFLOW_2.search(text) and not where.startswith(MLFLOW_2_PAGES):
            problems.append(f"{where}: a note for an MLflow 2 server, not the compatibility page's")
    return problems


def _source_of(built: Path) -> str:
    """The page source (below docs/) that a built page comes from."""
    stem = built.with_suffix("")
    for suffix in (".rst", ".md"):
        if (ROOT / "docs" / stem).with_suffix(suffix).is_file():
            return f"{stem}{suffix}"
    return f"{stem}.?"


def main() -> int:
    site = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "html"
    problems = check(site) + check_reader_pass(site) + check_pictures(site)
    problems += check_reading_order(site) + check_reading_paths(site) + check_server_state(site)
    return report(problems, f"built site {site} (the lab's server {SERVER.name})")


if __name__ == "__main__":
    sys.exit(main())
