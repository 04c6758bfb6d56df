"""Chromium on loopback and a page's tab in it: its UI instructions clicked, its pictures.

May import the lab's facts and the services; never the pages, the plugin or pytest
(ruff enforces it, labdocs/browser/ruff.toml).
"""
