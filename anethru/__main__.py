"""``python -m anethru``: the same as the ``anethru`` command."""

import sys

from anethru.cli import main

sys.exit(main())
