"""``python -m ingestion`` runs the command line."""

import sys

from ingestion.cli import main

sys.exit(main())
