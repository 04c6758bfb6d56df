"""Pictures of the UI made light enough for a page: a palette of at most 256 colours.

Screenshots of the MLflow UI are flat colours and text; pngquant's palette keeps them sharp
at about a third of their size, so that a page of pictures stays under the site's budget
(tools/check_built_site.py). ``nox -s screenshots`` writes every picture through here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HOW_TO_GET = "pngquant is needed to write pictures: `apt-get install -y pngquant` (Debian, Ubuntu)."
QUALITY = "60-85"  # pngquant's range: text in the pictures stays crisp at 60 and above


def lighten(picture: Path) -> None:
    """Rewrite a PNG in place with a palette (metadata stripped)."""
    pngquant = shutil.which("pngquant")
    if pngquant is None:
        raise RuntimeError(HOW_TO_GET)
    command = [pngquant, f"--quality={QUALITY}", "--speed=1", "--strip", "--force"]
    done = subprocess.run(
        [*command, "--output", str(picture), str(picture)], capture_output=True, timeout=120
    )
    # 98: the palette would not be smaller, 99: not within QUALITY; the original stays.
    if done.returncode not in (0, 98, 99):
        raise RuntimeError(f"pngquant failed on {picture}: {done.stderr.decode()}")


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:]:  # python -m labdocs.browser.pictures docs/**/ui/*.png
        lighten(Path(name))
