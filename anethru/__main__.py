"""``python -m anethru``: the same as the ``anethru`` command."""

import sys

from .cli import main

sys.exit(main())
