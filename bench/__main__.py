"""``python -m bench`` runs the benchmark (see :mod:`bench.run`)."""

import sys

from bench.run import main

sys.exit(main())
