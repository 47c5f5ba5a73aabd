"""`python -m bot` runs the `signoff` command line."""

import sys

from bot.cli import main

# Guarded: worker processes (`signoff audit verify`) import the main module again.
if __name__ == "__main__":
    sys.exit(main())
