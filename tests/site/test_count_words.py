"""tools/count_words.py counts what a member reads of a built page: its article, code
included, without the closing "Where next" and the page listings."""

import pytest

from labdocs.site.reading_paths import GUIDE
from tools.count_words import FIRST_PAGES, MEMBER_BUDGET, main, words

PAGE = """<html><body><nav>Sidebar words never read here</nav>
<article role="main"><h1>A page</h1><p>Two words.</p>
<div class="highlight"><pre><span>mlflow</span>.log_metric(<span>"loss"</span>, 1)</pre></div>
<div class="toctree-wrapper compound"><ul><li>Listed page</li></ul></div>
<section id="where-next"><h2>Where next</h2><p>Next: another page</p></section>
</article></body></html>"""


def test_words_are_the_articles_prose_and_code_not_its_listings_or_where_next():
    # "A page", "Two words.", then the code token by token: mlflow .log_metric( "loss" , 1)
    assert words(PAGE) == 2 + 2 + 5


def _site(tmp_path, words_per_page: dict[str, int]):
    guide = tmp_path / GUIDE
    guide.mkdir(parents=True)
    for page, count in words_per_page.items():
        text = " ".join(["word"] * count)
        (guide / f"{page}.html").write_text(f'<article role="main"><p>{text}</p></article>')
    return tmp_path


@pytest.mark.parametrize("enforce", [True, False])
def test_a_guide_over_its_budget_fails_the_build_only_when_enforced(tmp_path, capsys, enforce):
    pages = {page: 100 for page in FIRST_PAGES}
    pages["logging"] = MEMBER_BUDGET - 300 + 1  # one word over, in all
    args = [str(_site(tmp_path, pages))] + (["--enforce"] if enforce else [])
    assert main(args) == (1 if enforce else 0)
    assert f"words: the guide's pages: {MEMBER_BUDGET + 1} (budget {MEMBER_BUDGET})" in (
        capsys.readouterr().out
    )


def test_the_first_three_pages_over_their_budget_fail_alone(tmp_path):
    site = _site(tmp_path, {page: 900 for page in FIRST_PAGES})  # 2,700 of 2,500
    assert main([str(site), "--enforce"]) == 1
    assert main([str(_site(tmp_path / "under", {p: 800 for p in FIRST_PAGES})), "--enforce"]) == 0
