"""One state of the lab's server, set in labdocs/lab.py: the tests read each page as Sphinx
renders it for that state (labdocs/pages/state_pages.py), and the built-site check refuses a page
that shows the other state (tools/check_built_site.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labdocs.lab import (
    ENV_SERVER_STATE,
    LAB_HTTPS_TRACKING_URI,
    LAB_TRACKING_URI,
    OPEN,
    SECURED,
    server_state,
)
from labdocs.pages import DOCS, SYNTAX, pages
from labdocs.pages.parsers import parsers
from labdocs.pages.state_pages import STATE_TAGS, other_state_spans, page_type
from labdocs.plugin.member_runs import PageAfterTheMove
from tools.check_built_site import check_server_state

NOTEBOOKS = DOCS / "guides" / "mlflow" / "notebooks.md"


def test_the_setting_and_its_override():
    assert server_state({}).name in ("open", "secured")
    assert server_state({ENV_SERVER_STATE: "secured"}) is SECURED
    assert server_state({ENV_SERVER_STATE: "open"}) is OPEN
    with pytest.raises(ValueError, match=r"DOCS_SERVER_STATE='https': .*\['open', 'secured'\]"):
        server_state({ENV_SERVER_STATE: "https"})


def test_each_state_follows_from_the_setting():
    assert (OPEN.tracking_uri, OPEN.sign_in, OPEN.mlflow_version) == (LAB_TRACKING_URI, False, None)
    assert (SECURED.tracking_uri, SECURED.sign_in) == (LAB_HTTPS_TRACKING_URI, True)
    assert SECURED.mlflow_version == "3.17.2"


REST_PAGE = f"""\
Page
====

.. code-block:: python

   both = "{LAB_TRACKING_URI}"

.. only:: server_open

   .. code-block:: python

      open_only = True

   Still the open block.

.. only:: server_secured

   .. code-block:: python

      secured_only = True

.. code-block:: python

   after = True
"""

MYST_PAGE = f"""\
# Page

```python
both = "{LAB_TRACKING_URI}"
```

::::{{only}} server_open
```python
open_only = True
```
::::

````{{only}} server_secured
<!-- invisible-code-block: python
# a comment, not a heading
secured_hidden = True
-->

```python
secured_only = True
```
````

```python
after = True
```
"""


def _sources(path: Path, state) -> list[str]:
    document = page_type(state).parse(str(path), *parsers(SYNTAX[path.suffix]))
    return [str(e.parsed).strip() for e in document.examples() if "=" in str(e.parsed)]


@pytest.mark.parametrize("suffix, text", [(".rst", REST_PAGE), (".md", MYST_PAGE)])
def test_a_page_reads_for_its_state_alone(tmp_path, suffix, text):
    page = tmp_path / f"page{suffix}"
    page.write_text(text)
    open_reads = _sources(page, OPEN)
    secured_reads = _sources(page, SECURED)
    assert not any("secured_" in source for source in open_reads), open_reads
    assert any("open_only" in source for source in open_reads), open_reads
    assert not any("open_only" in source for source in secured_reads), secured_reads
    assert any(source == "secured_only = True" for source in secured_reads), secured_reads
    assert f'both = "{LAB_TRACKING_URI}"' in open_reads
    assert f'both = "{LAB_HTTPS_TRACKING_URI}"' in secured_reads
    assert "after = True" in open_reads and "after = True" in secured_reads


def test_a_heading_in_a_myst_only_block_is_refused(tmp_path):
    """MyST puts a heading, and what follows it, outside the block: every state would show
    it while the tests skipped it."""
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n:::{only} server_open\n## Today\n\nText.\n:::\n")
    with pytest.raises(ValueError, match="holds a heading"):
        page_type(OPEN).parse(str(page), *parsers("myst"))


def test_a_state_tag_in_an_expression_is_refused(tmp_path):
    page = tmp_path / "page.rst"
    page.write_text(".. only:: server_open and html\n\n   Text.\n")
    with pytest.raises(ValueError, match="one state's tag alone"):
        other_state_spans(page.read_text(), ".rst", OPEN)


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_state_block_of_the_site_is_found(page):
    """As many blocks left out, in the two states together, as the page has state blocks."""
    text = page.read_text()
    tags = "|".join(STATE_TAGS)
    directive = rf"^[ \t]*(?:\.\. only::|(?:`{{3,}}|:{{3,}})\{{only\}})[ \t]+(?:{tags})\b"
    written = len(re.findall(directive, text, re.MULTILINE))
    found = sum(len(other_state_spans(text, page.suffix, state)) for state in (OPEN, SECURED))
    assert found == written


def test_member_runs_read_the_secured_blocks():
    """notebooks.md: the credentials cell is the secured server's; the open server's readers
    get a sentence instead."""
    lineup = parsers("myst")
    secured = PageAfterTheMove.parse(str(NOTEBOOKS), *lineup)
    opened = page_type(OPEN).parse(str(NOTEBOOKS), *lineup)
    typed = 'os.environ["MLFLOW_TRACKING_USERNAME"] = input("MLflow username: ")'
    assert any(typed in str(example.parsed) for example in secured.examples())
    assert not any(typed in str(example.parsed) for example in opened.examples())


# -- the built site ---------------------------------------------------------------------


def _site(tmp_path: Path, pages: dict[str, str]) -> Path:
    for name, body in pages.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<html><body><main>{body}</main></body></html>")
    return tmp_path


def test_the_built_site_shows_the_state_s_address_alone(tmp_path):
    site = _site(
        tmp_path,
        {
            "guides/mlflow/quick-start.html": f"<pre>set_tracking_uri('{LAB_TRACKING_URI}')</pre>",
            "guides/mlflow/signing-in.html": f"<p>It becomes {LAB_HTTPS_TRACKING_URI}.</p>",
            "index.html": "<p>The server is reachable by anyone.</p>",
        },
    )
    assert check_server_state(site, OPEN) == []
    secured = check_server_state(site, SECURED)
    assert any(p.startswith("guides/mlflow/quick-start.html: shows http://") for p in secured)
    assert any(p.startswith("index.html: says the server is open") for p in secured)
    (tmp_path / "index.html").write_text(f"<p>{LAB_HTTPS_TRACKING_URI}</p>")
    assert check_server_state(site, OPEN) == [
        f"index.html: shows {LAB_HTTPS_TRACKING_URI}, the address of the other state"
    ]


def test_the_built_site_has_no_forks_and_no_mlflow_2_notes(tmp_path):
    site = _site(
        tmp_path,
        {
            "guides/mlflow/quick-start.html": "<p>Once sign-in is on, change the address.</p>",
            "guides/mlflow/getting-started.html": "<p>Against an MLflow 2 server, it fails.</p>",
            "guides/mlflow/compatibility.html": "<p>With an MLflow 2 server, ...</p>",
        },
    )
    assert check_server_state(site, OPEN) == [
        "guides/mlflow/getting-started.html: a note for an MLflow 2 server, not the "
        "compatibility page's",
        "guides/mlflow/quick-start.html: forks between the server's states: ['once sign-in is on']",
    ]
