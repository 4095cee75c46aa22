"""`python -m ecr_scan_reporter` runs the CLI."""

import sys

from ecr_scan_reporter.cli import main

sys.exit(main())
