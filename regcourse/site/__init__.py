"""The Sphinx extensions of the site, listed in ``_config.yml``:

- :mod:`.mathjax` serves MathJax from the site itself, so equations render offline;
- :mod:`.exercises` writes the exercise pages' tables, read from ``solutions/``;
- :mod:`.static` rebuilds pages when a stylesheet changed, so that it reaches the site.
"""
