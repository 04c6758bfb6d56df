"""The project's own package: the lab's facts (lab.py), the site's Sphinx extension, and the
machinery that runs every example on the site for real. README.md's layout table says which
module does which one job."""
