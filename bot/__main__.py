"""`python -m bot` runs the `signoff` command line."""

import sys

from bot.cli import main

sys.exit(main())
