"""Performance measurements of the course (``make bench``); see ``__main__.py``."""
