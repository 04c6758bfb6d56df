"""tools/count_words.py counts what a member reads of a built page: its article, code
included, without the closing "Where next" and the page listings."""

from tools.count_words import words

PAGE = """<html><body><nav>Sidebar words never read here</nav>
<article role="main"><h1>A page</h1><p>Two words.</p>
<div class="highlight"><pre><span>mlflow</span>.log_metric(<span>"loss"</span>, 1)</pre></div>
<div class="toctree-wrapper compound"><ul><li>Listed page</li></ul></div>
<section id="where-next"><h2>Where next</h2><p>Next: another page</p></section>
</article></body></html>"""


def test_words_are_the_articles_prose_and_code_not_its_listings_or_where_next():
    # "A page", "Two words.", then the code token by token: mlflow .log_metric( "loss" , 1)
    assert words(PAGE) == 2 + 2 + 5
