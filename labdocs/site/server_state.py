"""The site rendered for the lab's server as it is (``labdocs.lab.SERVER``): a Sphinx extension.

Pages and example files write the open server's address literally, as readers copy it, and
fork where the states differ with Sphinx's own ``only`` directive on the state's tag
(``.. only:: server_secured``; MyST: a ``{only}`` block). This extension

- adds the tag of the state the build is for (``conf.py`` sets ``lab_server_state``; a change
  of it rereads every page, as a tag alone would not);
- writes the state's address wherever a page shows the open one: text, inline and block
  literals (those of ``literalinclude`` too: the example files stay as tests run them) and
  link targets. In the open state it changes nothing.

The tests read pages the same way (``labdocs.pages.state_pages``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labdocs.lab import LAB_TRACKING_URI, SERVER_STATES, as_the_server_is

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def _rewrite_addresses(app: Sphinx, doctree) -> None:
    from docutils import nodes

    state = SERVER_STATES[app.config.lab_server_state]
    if state.tracking_uri == LAB_TRACKING_URI or app.env.docname in app.config.lab_as_written:
        return
    for node in list(doctree.findall(nodes.Text)):
        if LAB_TRACKING_URI in node:
            node.parent.replace(node, nodes.Text(as_the_server_is(str(node), state)))
    for node in doctree.findall(nodes.Element):
        # A code block is highlighted from its rawsource (Sphinx's HTML writer).
        if isinstance(node, nodes.FixedTextElement) and LAB_TRACKING_URI in node.rawsource:
            node.rawsource = as_the_server_is(node.rawsource, state)
        for attribute in ("refuri", "name"):
            value = node.get(attribute)
            if isinstance(value, str) and LAB_TRACKING_URI in value:
                node[attribute] = as_the_server_is(value, state)


def _add_tag(app: Sphinx, config) -> None:
    if config.lab_server_state not in SERVER_STATES:
        raise ValueError(f"lab_server_state must be one of {sorted(SERVER_STATES)}")
    app.tags.add(SERVER_STATES[config.lab_server_state].tag)


def setup(app: Sphinx) -> dict:
    app.add_config_value("lab_server_state", "open", "env", [str])
    # Pages that speak of the address as pages write it (the contributors' page): left as is.
    app.add_config_value("lab_as_written", [], "env", [list])
    app.connect("config-inited", _add_tag)
    app.connect("doctree-read", _rewrite_addresses)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
