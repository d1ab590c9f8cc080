"""The ``claran`` command line."""
