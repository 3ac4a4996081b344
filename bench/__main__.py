"""``python -m bench``: the same as the ``lambench`` command."""

import sys

from .cli import main

sys.exit(main())
