"""The subcommands of the ``anethru`` command line, one module each (see ``anethru/cli.py``)."""
