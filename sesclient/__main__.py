"""``python -m sesclient``: the command line."""

import sys

from sesclient.cli import main

sys.exit(main())
