"""The site's own package: the lab's facts (lab.py, page_facts.py, standard library only),
the Sphinx side (site/), the machinery that runs every example for real (services/,
browser/, pages/) and the pytest plugin that drives it (plugin/). What each folder may
import is in its ruff.toml, checked by nox -s lint."""
