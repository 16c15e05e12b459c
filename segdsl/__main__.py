"""``python -m segdsl`` runs the command line."""

import sys

from segdsl.cli import main

sys.exit(main())
