"""The machinery the tests run on (not tests themselves).

servers.py   start, await and stop a throwaway ``mlflow server`` (the only place that does)
watchdog.py  runs each server, and ends it with its owner, however the owner ends
auth.py      the authenticated server of the admin page's own script, and signing in
network.py   the network guard, and the lab's URL redirected to the throwaway server
parsers.py   Sybil parsers beyond Sybil's own (included files, exports, skips, refusals)
pages.py     which pages there are, and which parsers read them
sandbox.py   the run's own folder and environment; each page's and each test's own world
plugin.py    the pytest plugin: hooks and fixtures, top to bottom as a run meets them
summary.py   the run's closing count of examples
mmengine_stand_in.py  the MMPose page's config trained by MMEngine on a tiny model (quick loop)
browser.py   finds and starts Chromium, kept on loopback, the lab's URL mapped to the server
ui.py        a page's browser tab: :guilabel: instructions clicked, pictures framed and checked
ui_plugin.py the fixtures of the browser (one per run) and of each page's tab (``ui``)
"""
