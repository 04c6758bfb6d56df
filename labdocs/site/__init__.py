"""The Sphinx side: extensions that conf.py loads, and what the build needs to know.

Imports the lab's facts (labdocs.lab) and nothing else of labdocs: the docs build runs
without the tests' machinery (ruff enforces it, labdocs/site/ruff.toml).
"""
