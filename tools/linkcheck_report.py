"""Say what ``sphinx-build -b linkcheck`` found, and whether it could reach the network.

    python -m tools.linkcheck_report build/linkcheck/output.json

Offline, every external link is "broken" with a name-resolution or connection error,
which reads like a site full of dead links. This tells the two apart: when every broken
link failed to connect at all, it says that the network could not be reached.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# What requests/urllib3 say when no connection could be made at all (no DNS, no route).
UNREACHABLE = re.compile(
    r"NameResolutionError|Name or service not known|Temporary failure in name resolution|"
    r"No address associated|Network is unreachable|NewConnectionError|ConnectTimeout|"
    r"Failed to establish a new connection",
)


def main(output: Path) -> int:
    results = [json.loads(line) for line in output.read_text().splitlines() if line.strip()]
    broken = [r for r in results if r["status"] in ("broken", "timeout")]
    checked = [r for r in results if r["status"] not in ("ignored", "unchecked", "local")]
    if broken and all(UNREACHABLE.search(r.get("info", "")) for r in broken):
        print(
            f"linkcheck could not reach the network: none of the {len(checked)} external links "
            f"could be checked (first error: {broken[0]['info'][:200]}). Run it online."
        )
        return 1
    for r in broken:
        print(f"docs/{r['filename']}:{r['lineno']}: {r['status']} {r['uri']}: {r['info'][:200]}")
    print(f"linkcheck: {len(checked)} external links, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
